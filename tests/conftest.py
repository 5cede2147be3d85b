from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "test_data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/test_data beside the project root; tests that need it skip when it is absent."""
    if not SHARED.is_dir():
        pytest.skip(f"shared test data not found at {SHARED}")
    return SHARED
