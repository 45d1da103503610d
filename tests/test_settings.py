import pytest
from pydantic import ValidationError

from fdopt.settings import GridSettings, Settings


def test_defaults_are_torch_gradient_defaults():
    assert GridSettings() == GridSettings(accuracy=2, edge_order=1)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [({"accuracy": 3}, "accuracy"), ({"edge_order": 0}, "edge_order"), ({"acuracy": 4}, "acuracy")],
)
def test_invalid_or_unknown_fields_name_the_field(kwargs, field):
    with pytest.raises(ValidationError) as exc:
        GridSettings(**kwargs)
    assert exc.value.errors()[0]["loc"] == (field,)


def test_frozen():
    settings = GridSettings()
    with pytest.raises(ValidationError):
        settings.accuracy = 4  # type: ignore[misc]


def test_every_model_follows_the_base_conventions():
    for model in (GridSettings,):
        assert issubclass(model, Settings)
        assert model.model_config["extra"] == "forbid"
        assert model.model_config["frozen"] is True
