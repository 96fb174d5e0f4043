"""NomadSettings: the standard Nomad/Consul variables, PYPLAY_NOMAD_*, TLS verification on by default."""
from __future__ import annotations

import pytest

from common.config import ConfigError
from scheduler.nomad import NomadSettings
from scheduler.nomad.consul import ConsulClient, consul_base_url


def test_defaults_verify_tls_and_talk_to_local_agents():
    settings = NomadSettings.from_env({})
    assert settings.tls_verify is True
    assert settings.nomad_addr == "http://127.0.0.1:4646"
    api = settings.nomad_api()
    try:
        assert api._client.verify is True
    finally:
        api.close()


def test_standard_variables_are_read_by_their_cli_names():
    settings = NomadSettings.from_env({
        "NOMAD_ADDR": "https://nomad.service.consul:4646", "NOMAD_TOKEN": "n-token",
        "NOMAD_CACERT": "/etc/pyplay/nomad-ca.pem", "NOMAD_NAMESPACE": "pyplay",
        "CONSUL_HTTP_ADDR": "consul.service.consul:8501", "CONSUL_HTTP_SSL": "true",
        "CONSUL_HTTP_TOKEN": "c-token", "CONSUL_CACERT": "/etc/pyplay/consul-ca.pem",
        "PYPLAY_NOMAD_MAX_DISPATCHING": "12", "PYPLAY_NOMAD_ORPHANS": "adopt",
    })
    assert (settings.nomad_token, settings.max_dispatching, settings.orphans) == ("n-token", 12, "adopt")
    api, consul = settings.nomad_api(), settings.consul_client()
    try:
        assert api._client.verify == "/etc/pyplay/nomad-ca.pem"
        assert api._client.token == "n-token" and api._client.get_namespace() == "pyplay"
        assert consul._base == "https://consul.service.consul:8501"
        assert consul._session.verify == "/etc/pyplay/consul-ca.pem"
        assert consul._session.headers["X-Consul-Token"] == "c-token"
    finally:
        api.close()
        consul.close()


def test_verification_is_only_off_when_asked_for_by_name():
    settings = NomadSettings.from_env({"PYPLAY_NOMAD_TLS_VERIFY": "false", "NOMAD_CACERT": "/ca.pem"})
    api = settings.nomad_api()
    try:
        assert api._client.verify is False
    finally:
        api.close()


@pytest.mark.parametrize("environ, message", [
    ({"PYPLAY_NOMAD_ORPHANS": "keep"}, "ORPHANS must be purge or adopt"),
    ({"PYPLAY_NOMAD_MAX_DISPATCHING": "0"}, "MAX_DISPATCHING must be positive"),
    ({"PYPLAY_NOMAD_START_SECONDS": "soon"}, "PYPLAY_NOMAD_START_SECONDS='soon' is not a valid float"),
    ({"PYPLAY_NOMAD_TLS_VERIFY": "maybe"}, "PYPLAY_NOMAD_TLS_VERIFY='maybe' is not a valid bool"),
    # A child whose dispatch answer is still on its way must not be swept as a stray.
    ({"PYPLAY_NOMAD_STRAY_SECONDS": "15"}, "STRAY_SECONDS must be at least twice"),
    ({"PYPLAY_NOMAD_BLOCK_SECONDS": "0"}, "BLOCK_SECONDS must be positive"),
])
def test_bad_values_are_refused_with_the_variable_named(environ, message):
    with pytest.raises(ConfigError, match=message):
        NomadSettings.from_env(environ)


def test_consul_addresses_as_the_consul_cli_reads_them():
    assert consul_base_url("127.0.0.1:8500") == "http://127.0.0.1:8500"
    assert consul_base_url("127.0.0.1:8501", use_tls=True) == "https://127.0.0.1:8501"
    assert consul_base_url("https://consul:8501/") == "https://consul:8501"


def test_consul_client_reads_health_from_the_fake(cluster):
    from tests.scheduler.nomad.fake_consul import Registration

    cluster.consul.register(Registration("svc-1", "pyplay-sandbox", "127.0.0.1", 4000,
                                         ("pyplay", "alloc:a1"), {"vnc_port": "4001"}, "passing"))
    cluster.consul.register(Registration("svc-2", "pyplay-sandbox", "::1", 4002,
                                         ("pyplay", "alloc:a2"), {}, "critical"))
    client = ConsulClient(address=cluster.consul.address)
    try:
        (one,) = client.instances("pyplay-sandbox", "alloc:a1")
        (two,) = client.instances("pyplay-sandbox", "alloc:a2")
        assert client.instances("pyplay-sandbox", "alloc:nothing") == []
    finally:
        client.close()
    assert one.passing and one.endpoint() == ("tcp", "127.0.0.1:4000") and one.meta["vnc_port"] == "4001"
    assert not two.passing and two.endpoint(4003) == ("tcp", "[::1]:4003")


def test_the_service_builds_a_nomad_scheduler_from_config_and_environment():
    from common.config import Config
    from scheduler.nomad import NomadScheduler

    scheduler = NomadScheduler.from_config(Config(scheduler="nomad"), {"NOMAD_ADDR": "https://nomad:4646",
                                                                       "PYPLAY_NOMAD_JOB": "sandbox-b"})
    try:
        assert scheduler._settings.nomad_addr == "https://nomad:4646"
        assert scheduler._settings.job == "sandbox-b"
        assert set(scheduler.stats()) >= {"pool_ready_python", "sandboxes_live", "acquired_warm", "acquired_cold"}
    finally:
        scheduler._cluster.nomad.close()
        scheduler._cluster.consul.close()
        scheduler._cluster.executor.shutdown()
