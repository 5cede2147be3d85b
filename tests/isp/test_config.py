"""Config: defaults, TOML files, overrides, and errors that name the key and the allowed values."""
import pytest

from isp import config
from isp.errors import InputError


def test_empty_config_is_the_default():
    assert config.load() == config.default()
    assert config.load({}) == config.default()


def test_toml_file_with_relative_paths(tmp_path):
    (tmp_path / "show.toml").write_text('[demosaic]\nalgorithm = "menon2007"\n[grade]\nlut = "luts/show.cube"\n'
                                        '[sensor]\nwhite_balance = [2.0, 1.0, 1.5]\n')
    c = config.load(tmp_path / "show.toml")
    assert c["demosaic"]["algorithm"] == "menon2007"
    assert c["grade"]["lut"] == tmp_path / "luts" / "show.cube"
    assert c["sensor"]["white_balance"] == [2.0, 1.0, 1.5]
    assert c["output"]["transfer"] == "srgb"  # untouched keys keep their defaults


def test_overrides_win_over_the_file(tmp_path):
    (tmp_path / "a.toml").write_text('[demosaic]\nalgorithm = "menon2007"\n')
    c = config.load(tmp_path / "a.toml", {"demosaic.algorithm": "bilinear", "output.transfer": "linear"})
    assert c["demosaic"]["algorithm"] == "bilinear" and c["output"]["transfer"] == "linear"


def test_names_are_matched_without_case():
    assert config.load({"demosaic": {"algorithm": "RCD"}})["demosaic"]["algorithm"] == "rcd"


@pytest.mark.parametrize("given,message", [
    ({"demosiac": {}}, r"unknown section \[demosiac\]; sections are input, sensor"),
    ({"demosaic": {"algo": "rcd"}}, r"unknown key demosaic.algo; keys of \[demosaic\] are algorithm"),
    ({"demosaic": {"algorithm": "ahd"}}, r"demosaic.algorithm = 'ahd' is unknown; expected one of .*bilinear"),
    ({"output": {"transfer": "gamma9"}}, r"output.transfer = 'gamma9' is unknown; expected one of .*srgb"),
    ({"output": {"compression": "gzip"}}, r"output.compression = 'gzip' is unknown; expected one of none, .*piz"),
    ({"sensor": {"white_balance": "daylight"}}, r"sensor.white_balance = 'daylight'; expected 'auto', 'as_shot'"),
    ({"sensor": {"defect_threshold": 2}}, r"sensor.defect_threshold = 2 is outside \[0.0, 1.0\]"),
    ({"denoise": {"strength": "high"}}, r"denoise.strength must be a number"),
    ({"grade": {"interpolation": "cubic"}}, r"grade.interpolation = 'cubic' is not allowed"),
    ({"input": {"pattern": "RGBW"}}, r"input.pattern: unknown CFA pattern 'RGBW'"),
])
def test_bad_values_name_the_key_and_the_choices(given, message):
    with pytest.raises(InputError, match=message):
        config.load(given)


def test_bad_toml_names_the_file(tmp_path):
    (tmp_path / "bad.toml").write_text("[demosaic\nalgorithm = 1")
    with pytest.raises(InputError, match=r"bad.toml: not valid TOML"):
        config.load(tmp_path / "bad.toml")
    with pytest.raises(InputError, match=r"nope.toml: no such config file"):
        config.load(tmp_path / "nope.toml")


def test_dumps_round_trips(tmp_path):
    c = config.load({"demosaic": {"algorithm": "menon2007"}, "sensor": {"white_balance": 5600}})
    (tmp_path / "c.toml").write_text(config.dumps(c))
    assert config.load(tmp_path / "c.toml") == c
