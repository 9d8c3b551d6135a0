"""The SEI stand-in's tables keep what the server's write rules keep (read from its public
code): the job row last-write-wins, artifacts replaced only by a non-empty list, stages taken
in order up to a bad one, correlation symmetric with every mode at once."""

from __future__ import annotations

import json
import time
import urllib.request
from typing import Any

from .conftest_sei import GUID
from .sei_server import StandIn
from .sei_store import SeiStore


def _doc(number: int, **extra: Any) -> dict[str, Any]:
    return {
        "pipeline": "shop",
        "job_full_name": "shop/build",
        "qualified_name": "shop/build",
        "job_name": f"build-{number}",
        "instance_name": "ci",
        "instance_guid": GUID,
        "result": "SUCCESS",
        "start_time": 1_750_000_000_000 + number,
        "duration": 1000,
        "build_number": number,
        **extra,
    }


def _store() -> SeiStore:
    store = SeiStore()
    store.register(GUID, {"name": "ci", "integration_id": "1", "type": "custom"})
    return store


def test_the_job_row_is_last_write_wins_null_included() -> None:
    """The second post of another run relabels the job: its branch, and a missing repo URL
    erases the link; the job's name stays the first insert's."""
    store = _store()
    store.ingest(_doc(1, branch_name="main", repo_url="https://git.example.com/shop"))
    store.ingest(_doc(2, branch_name="feature/x"))
    job = store.jobs[(GUID, "shop/build")]
    assert (job.branch_name, job.scm_url, job.job_name) == ("feature/x", None, "build-1")


def test_artifacts_are_replaced_only_by_a_non_empty_list() -> None:
    """A re-post with no artifacts keeps the ones stored; one with artifacts replaces them."""
    store = _store()
    art = {"type": "container", "name": "cart", "qualifier": "1", "location": "r/ns",
           "output": True}  # fmt: skip
    store.ingest(_doc(1, artifacts=[art]))
    store.ingest(_doc(1, artifacts=[]))
    (run,) = store.runs.values()
    assert [a.qualifier for a in run.artifacts] == ["1"]
    store.ingest(_doc(1, artifacts=[{**art, "qualifier": "2"}]))
    assert [a.qualifier for a in run.artifacts] == ["2"]


def test_stages_are_taken_in_order_up_to_a_bad_one() -> None:
    """A stage whose start does not parse stops that stage and the ones after it; the ones
    before are stored."""
    store = _store()
    stages = [
        {"id": "1", "displayName": "a", "startTime": "2026-01-01T00:00:00Z"},
        {"id": "2", "displayName": "b", "startTime": "yesterday"},
        {"id": "3", "displayName": "c", "startTime": "2026-01-01T00:00:09Z"},
    ]
    store.ingest(_doc(1, job_run={"stages": stages}))
    (run,) = store.runs.values()
    assert list(run.stages) == ["1"]


def test_correlation_is_symmetric_with_every_mode_at_once() -> None:
    """Two runs sharing a container (name, qualifier) are linked whatever their input and
    output flags say, both ways; a hash alone links too; an empty qualifier links nothing."""
    store = _store()
    built = {"type": "container", "name": "cart", "qualifier": "1.2", "location": "r/shop",
             "output": True, "hash": "sha256:aa"}  # fmt: skip
    store.ingest(_doc(1, artifacts=[built]))
    store.ingest({**_doc(2), "job_full_name": "other", "artifacts": [{**built, "output": True}]})
    store.ingest({**_doc(3), "job_full_name": "third",
                  "artifacts": [{**built, "name": "x", "qualifier": "9"}]})  # fmt: skip
    store.ingest({**_doc(4), "job_full_name": "fourth",
                  "artifacts": [{**built, "qualifier": "", "hash": ""}]})  # fmt: skip
    links = store.correlate()
    jobs = (("shop/build", 1), ("other", 2), ("third", 3), ("fourth", 4))
    one, two, three, four = ((GUID, j, n) for j, n in jobs)
    assert (one, two) in links
    assert (two, one) in links
    assert (one, three) in links  # the same hash, another name
    assert not any(four in pair for pair in links)


def test_a_stand_in_that_answers_first_still_stores_the_run() -> None:
    """With answer_first (SEI's order: 202, then the work) the answer comes before the run is
    stored, and the run is stored all the same."""
    stand_in = StandIn("k", instances={GUID: "ci"}, answer_first=True).start()
    try:
        request = urllib.request.Request(
            f"{stand_in.url}/v1/custom-cicd",
            data=json.dumps(_doc(7)).encode(),
            headers={"Authorization": "ApiKey k", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 202
        deadline = time.monotonic() + 10
        while not stand_in.store.runs and time.monotonic() < deadline:
            time.sleep(0.01)
        assert [key[-1] for key in stand_in.store.runs] == [7]
    finally:
        stand_in.stop()
