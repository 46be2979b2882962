"""The data-driven parts of docs/benchmarks.md: result tables, targets and their reading."""

from typing import Any

READ_TARGET = 0.5  # read: at least half the bare endpoint's requests/s
TRANSACTION_TARGET_MS = 100.0  # 50-entry transaction: p50 under 100 ms on SQLite
BASELINES = {"bare_async": "bare async", "bare_sync": "bare sync"}


def scenario(backend: dict[str, Any], name: str) -> dict[str, Any]:
    return next(s for s in backend["scenarios"] if s["name"] == name)


def _ratio(s: dict[str, Any], baseline: str) -> float:
    return float(s["medsvc"]["rps"] / s[baseline]["rps"])


def throughput(backend: dict[str, Any]) -> list[str]:
    rows = [
        "| scenario | clients | medsvc req/s | bare async req/s | bare sync req/s | "
        "medsvc/bare async | medsvc/bare sync | medsvc CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in backend["scenarios"]:
        m, a, y = s["medsvc"], s["bare_async"], s["bare_sync"]
        rows.append(
            f"| {s['label']} | {s['clients']} | {m['rps']:,.0f} | {a['rps']:,.0f} | "
            f"{y['rps']:,.0f} | {_ratio(s, 'bare_async'):.1%} | "
            f"{_ratio(s, 'bare_sync'):.1%} | {m['server_cpu']:.0%} |"
        )
    return rows


def latency(backend: dict[str, Any]) -> list[str]:
    rows = [
        "| scenario | medsvc p50 | medsvc p99 | bare async p50 | bare async p99 | "
        "bare sync p50 | bare sync p99 | bare async CPU | bare sync CPU | wrk CPU |",
        "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
    ]
    for s in backend["scenarios"]:
        m, a, y = s["medsvc"], s["bare_async"], s["bare_sync"]
        rows.append(
            f"| {s['name']} | {m['p50_ms']:.1f} | {m['p99_ms']:.1f} | "
            f"{a['p50_ms']:.2f} | {a['p99_ms']:.2f} | {y['p50_ms']:.2f} | "
            f"{y['p99_ms']:.2f} | {a['server_cpu']:.0%} | {y['server_cpu']:.0%} | "
            f"{m['wrk_cpu']:.0%} |"
        )
    return rows


def runs(backend: dict[str, Any]) -> list[str]:
    rows = [
        "| scenario | app | s per run | req/s per run | errors |",
        "| --- | --- | ---: | --- | ---: |",
    ]
    names = {"medsvc": "medsvc", **BASELINES}
    for s in backend["scenarios"]:
        for app, samples in s["runs"].items():
            rates = ", ".join(f"{x['rps']:,.0f}" for x in samples)
            rows.append(
                f"| {s['name']} | {names.get(app, app)} | {samples[0]['seconds']:.0f} | "
                f"{rates} | {sum(x['errors'] for x in samples):.0f} |"
            )
    return rows


def _verdict(met: bool) -> str:
    return "**met**" if met else "**not met**"


def _per_run(s: dict[str, Any], baseline: str) -> str:
    """medsvc over the baseline within each run, where the apps take turns on the scenario."""
    pairs = zip(s["runs"]["medsvc"], s["runs"][baseline], strict=True)
    return ", ".join(f"{m['rps'] / b['rps']:.0%}" for m, b in pairs)


def targets(results: list[dict[str, Any]]) -> list[str]:
    lines = []
    for backend in results:
        read = scenario(backend, "read")
        verdicts = "; ".join(
            f"{_ratio(read, key):.1%} of {label} (run by run: {_per_run(read, key)}): "
            f"{_verdict(_ratio(read, key) >= READ_TARGET)}"
            for key, label in reversed(BASELINES.items())
        )
        lines.append(
            f"- Read at least {READ_TARGET:.0%} of the bare endpoint's requests/s, "
            f"{backend['backend']}: {verdicts}."
        )
    for backend in (b for b in results if b["backend"] == "sqlite"):
        p50 = scenario(backend, "transaction")["medsvc"]["p50_ms"]
        alone = scenario(backend, "transaction-1")["medsvc"]["p50_ms"]
        clients = scenario(backend, "transaction")["clients"]
        needed = clients / (TRANSACTION_TARGET_MS / 1000)
        rate = scenario(backend, "transaction")["medsvc"]["rps"]
        lines.append(
            f"- 50-entry transaction under {TRANSACTION_TARGET_MS:.0f} ms p50 on SQLite "
            f"({clients} clients): {p50:.0f} ms: {_verdict(p50 < TRANSACTION_TARGET_MS)}. "
            "With one client, so without queueing behind the single writer, p50 is "
            f"{alone:.0f} ms ({'under' if alone < TRANSACTION_TARGET_MS else 'over'} "
            f"the target). {clients} clients that each send their next transaction as "
            "the last one is answered wait, by Little's law, about "
            f"{clients} / throughput: a p50 under {TRANSACTION_TARGET_MS:.0f} ms needs "
            f"about {needed:.0f} transactions/s ({needed * 50:,.0f} validated and "
            f"indexed resources/s), against {rate:.0f}/s measured."
        )
    return lines


def _throughput(many: dict[str, float], one: dict[str, float]) -> str:
    gain = many["rps"] / one["rps"] - 1
    if abs(gain) < 0.1:
        return "at about the same throughput"
    return f"and {abs(gain):.0%} {'more' if gain > 0 else 'less'} throughput"


def reading(results: list[dict[str, Any]]) -> list[str]:
    """What the CPU columns, the two baselines and the two transaction rows say, per backend."""
    lines = []
    for b in results:
        busy = [s["name"] for s in b["scenarios"] if s["medsvc"]["server_cpu"] >= 0.9]
        idle = [
            f"{s['name']} ({s['medsvc']['server_cpu']:.0%})"
            for s in b["scenarios"]
            if s["medsvc"]["server_cpu"] < 0.9
        ]
        many, one = scenario(b, "transaction")["medsvc"], scenario(b, "transaction-1")["medsvc"]
        handoff = [s["bare_sync"]["rps"] / s["bare_async"]["rps"] for s in b["scenarios"]]
        lines.append(
            f"- {b['backend']}: the medsvc process runs at 90% of a core or more in "
            f"{', '.join(busy) or 'no scenario'}, so there it is bound by its own CPU (one "
            "worker, one GIL), not by the database"
            + (f"; below that, it partly waits on the database: {', '.join(idle)}" if idle else "")
            + ". "
            f"16 concurrent transactions complete {many['rps']:.1f}/s at p50 "
            f"{many['p50_ms']:.0f} ms, against {one['rps']:.1f}/s at p50 {one['p50_ms']:.0f} ms "
            f"for one client: concurrency adds queueing {_throughput(many, one)}. "
            "The thread hand-off alone (bare sync against bare async): bare sync serves "
            f"{min(handoff):.0%} to {max(handoff):.0%} of bare async's rate across the scenarios."
        )
    return lines
