"""When results may be released to their patients, as configured: preliminary ones or final
only, and per-category rules where local law requires them (a delay, or a clinician's review).

MEDSVC_RELEASE_RULES is a comma-separated list of `category=rule`, the category a code
(any system) or `system|code`, the rule `review` or a delay in hours (`72h`):
`PAT=review,http://terminology.hl7.org/CodeSystem/v2-0074|GE=72h`.
"""

from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

FINISHED = frozenset({"final", "amended", "corrected", "appended"})


class InvalidRules(ValueError):
    """MEDSVC_RELEASE_RULES does not parse."""


@dataclass(frozen=True)
class Rule:
    review: bool = False
    delay: timedelta = timedelta(0)


@dataclass(frozen=True)
class ReleaseRules:
    preliminary: bool = False
    by_category: dict[str, Rule] = field(default_factory=dict)  # "code" or "system|code"

    def releasable(self, resource: dict[str, Any]) -> bool:
        status = _result_status(resource)
        return status in FINISHED or (self.preliminary and status == "preliminary")

    def rule_for(self, resource: dict[str, Any]) -> Rule:
        """The strictest rule among the resource's categories: review if any asks for it,
        the longest delay."""
        matched = [
            self.by_category[key]
            for concept in resource.get("category") or []
            for coding in (concept.get("coding") or [])
            if isinstance(concept, dict)
            for key in (f"{coding.get('system')}|{coding.get('code')}", str(coding.get("code")))
            if key in self.by_category
        ]
        return Rule(
            review=any(r.review for r in matched),
            delay=max((r.delay for r in matched), default=timedelta(0)),
        )


def _result_status(resource: dict[str, Any]) -> str | None:
    """A report's or Observation's status; a DocumentReference's docStatus (a `current`
    document without one counts as final)."""
    if resource.get("resourceType") != "DocumentReference":
        return resource.get("status")
    if "docStatus" in resource:
        return resource.get("docStatus")
    return "final" if resource.get("status") == "current" else resource.get("status")


def parse_rules(text: str, preliminary: bool) -> ReleaseRules:
    rules: dict[str, Rule] = {}
    for item in filter(None, (part.strip() for part in text.split(","))):
        category, _, rule = item.rpartition("=")
        rule = rule.strip().lower()
        if not category.strip():
            raise InvalidRules(f"{item!r}: expected category=review or category=<hours>h")
        if rule == "review":
            rules[category.strip()] = Rule(review=True)
        elif rule.endswith("h") and rule[:-1].isdigit():
            rules[category.strip()] = Rule(delay=timedelta(hours=int(rule[:-1])))
        else:
            raise InvalidRules(f"{item!r}: the rule is review or a number of hours (72h)")
    return ReleaseRules(preliminary, rules)
