"""What the app reads from the FHIR API as the person, turned into page errors when it is
refused: 404 for what they may not see (the API answers the same for denied and absent);
names given in the person's language where the data translates them."""

from typing import Any

from medsvc.web import display
from medsvc.web.errors import PageError
from medsvc.web.person import Person

Params = dict[str, str] | dict[str, str | list[str]]


async def fhir_json(person: Person, path: str, params: Params | None = None) -> dict[str, Any]:
    response = await person.api.fhir("GET", path, person.token, params=params)
    if response.status_code == 200:
        body: dict[str, Any] = display.read_json(response.content, person.api.language)
        return body
    if response.status_code == 401:
        raise PageError(401, "signed-out")
    if response.status_code in (403, 404, 410):
        raise PageError(404, "not-found")
    raise PageError(503, "unavailable")
