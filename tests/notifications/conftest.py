"""This package runs on an app and table of its own (see tests.support.domain_factories)."""

from tests.support.domain_factories import (  # noqa: F401
    fresh_fixture,
    http_fixture,
    isolated_fixture,
    resources_fixture,
    workspace_fixture,
)
from tests.support.serial_moto import serial_moto_fixture  # noqa: F401
