"""Optional dependencies: a missing extra is a one-line error that says what to install."""
import pytest

from higherhrnet.errors import REPORTED_ERRORS, MissingDependencyError, import_optional


def test_missing_optional_module_names_the_extra():
    with pytest.raises(MissingDependencyError, match=r"pip install 'higherhrnet\[onnx\]'") as raised:
        import_optional("a_module_that_is_not_installed", "onnx")
    assert isinstance(raised.value, REPORTED_ERRORS) and "\n" not in str(raised.value)


def test_installed_optional_module_is_returned():
    assert import_optional("json", "none").dumps([1]) == "[1]"
