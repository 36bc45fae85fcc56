"""Backends: the seed's filters (as the seed means them), one request, a callable namespace."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

import qwhere
from qwhere import Q
from qwhere.testing import ServiceURL, serve

METHOD_NAMED = {
    "name": "jobs",
    "configuration": {"n_qubits": 3, "simulator": False, "input_allowed": ["job"]},
    "status": {"operational": True, "pending_jobs": 0, "status_msg": "active"},
}


@pytest.fixture(scope="module")
def account() -> Iterator[ServiceURL]:
    with serve(jobs=30, extra_backends=[METHOD_NAMED]) as url:
        yield url


def names(backends: list[qwhere.Backend]) -> list[str]:
    return [b.name for b in backends]


def raw(url: ServiceURL) -> list[dict[str, Any]]:
    return list(url.service.backends.records)


def test_every_backend_in_one_request(account: ServiceURL) -> None:
    provider = qwhere.connect(account)
    account.service.reset_log()
    backends = provider.backends()
    assert names(backends) == [r["name"] for r in raw(account)]
    assert len(backends) >= 7
    assert account.service.request_count() == 1
    status = backends[0].status()
    assert isinstance(status.operational, bool) and status.pending_jobs >= 0


@pytest.mark.parametrize(
    ("arguments", "meaning"),
    [
        ({"name": "ibmq_lima"}, lambda c, s: c.get("backend_name") == "ibmq_lima"),
        ({"min_num_qubits": 16}, lambda c, s: c["n_qubits"] >= 16),
        ({"input_allowed": "runtime"}, lambda c, s: "runtime" in c["input_allowed"]),
        (
            {"input_allowed": ["job", "runtime"]},
            lambda c, s: {"job", "runtime"} <= set(c["input_allowed"]),
        ),
        (
            {"n_qubits": 5, "operational": True},
            lambda c, s: c["n_qubits"] == 5 and s["operational"],
        ),
        ({"simulator": True}, lambda c, s: c["simulator"]),
        ({"operational": False}, lambda c, s: not s["operational"]),
        ({"status_msg": "internal"}, lambda c, s: s["status_msg"] == "internal"),
        (
            {"filters": lambda b: b.configuration().get("quantum_volume", 0) > 16},
            lambda c, s: c.get("quantum_volume", 0) > 16,
        ),
        (
            {"where": "quantum_volume >= 32 and not simulator", "min_num_qubits": 7},
            lambda c, s: c.get("quantum_volume", 0) >= 32 and c["n_qubits"] >= 7,
        ),
        (
            {"where": Q.basis_gates.all(["u3", "cx"]), "pending_jobs": 3},
            lambda c, s: {"u3", "cx"} <= set(c.get("basis_gates", ())) and s["pending_jobs"] == 3,
        ),
    ],
)
def test_backend_filters(account: ServiceURL, arguments: dict[str, Any], meaning: Any) -> None:
    provider = qwhere.connect(account)
    want = [r["name"] for r in raw(account) if meaning(r["configuration"], r["status"])]
    assert want
    assert names(provider.backends(**arguments)) == want
    assert names(provider.backend(**arguments)) == want


def test_seed_lambda_reads_configuration_attributes(account: ServiceURL) -> None:
    provider = qwhere.connect(account)
    big = provider.backends(
        filters=lambda b: b.configuration().n_qubits > 16 and not b.configuration().simulator
    )
    assert names(big) == ["ibm_washington"]
    with pytest.raises(AttributeError):
        provider.backend.ibmq_qasm_simulator.configuration().quantum_volume  # noqa: B018


def test_account_keywords(account: ServiceURL) -> None:
    provider = qwhere.connect(account, hub="ibm-q", group="open", project="main")
    assert len(provider.backends(hub="ibm-q")) == len(raw(account))
    account.service.reset_log()
    assert provider.backends(hub="ibm-q", group="other") == []
    assert account.service.request_count() == 0
    assert qwhere.connect(account).backends(project="main") == []
    assert "hub='ibm-q'" in repr(provider)


def test_namespace_attributes_and_dir(account: ServiceURL) -> None:
    provider = qwhere.connect(account)
    lima = provider.backend.ibmq_lima
    assert isinstance(lima, qwhere.Backend) and lima.name == "ibmq_lima"
    assert lima.n_qubits == 5 and not lima.simulator and lima.operational
    listed = dir(provider.backend)
    for name in ("ibmq_lima", "ibm_washington", "jobs", "retrieve_job", "backends"):
        assert name in listed
    with pytest.raises(AttributeError) as info:
        provider.backend.ibmq_nowhere  # noqa: B018
    assert isinstance(info.value, qwhere.BackendNotFoundError)
    assert "ibmq_lima" in str(info.value)
    assert not hasattr(provider.backend, "ibmq_nowhere")
    assert provider.backends is provider.backend


def test_a_backend_named_like_a_method_never_shadows_it(account: ServiceURL) -> None:
    provider = qwhere.connect(account)
    assert callable(provider.backend.jobs)
    assert isinstance(provider.backend.jobs(limit=2), list)
    named_jobs = provider.get_backend("jobs")
    assert named_jobs.name == "jobs" and named_jobs.n_qubits == 3
    assert names(provider.backends(name="jobs")) == ["jobs"]
    with pytest.raises(qwhere.BackendNotFoundError):
        provider.get_backend("nope")


def test_backend_model_reads_like_its_record(account: ServiceURL) -> None:
    provider = qwhere.connect(account)
    manila = provider.backend.ibmq_manila
    record = next(r for r in raw(account) if r["name"] == "ibmq_manila")
    assert dict(manila.raw) == record
    assert manila.configuration().to_dict() == record["configuration"]
    assert qwhere.predicate("n_qubits == 5 and operational", qwhere.schemas.BACKENDS)(manila)
    assert "raw" not in repr(manila)
