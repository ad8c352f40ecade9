import pytest

from serverless_pypi import config


def test_defaults() -> None:
    settings = config.load({config.BUCKET: "b", "AWS_REGION": "eu-west-1"})
    assert settings == config.Settings(bucket="b", region="eu-west-1")


def test_fallback_url_gets_trailing_slash() -> None:
    env = {config.BUCKET: "b", config.FALLBACK_INDEX_URL: "https://pypi.org/simple"}
    assert config.load(env).fallback_index_url == "https://pypi.org/simple/"


@pytest.mark.parametrize(
    "env",
    [
        {},
        {config.BUCKET: "  "},
        {config.BUCKET: "b", config.URL_TTL: "ten"},
        {config.BUCKET: "b", config.URL_TTL: "5"},
        {config.BUCKET: "b", config.URL_TTL: str(8 * 24 * 3600)},
        {config.BUCKET: "b", config.FALLBACK_INDEX_URL: "ftp://example.com/"},
        {config.BUCKET: "b", config.FALLBACK_INDEX_URL: "pypi.org/simple"},
        {config.BUCKET: "b", config.UPLOADS: "yes"},
        {config.BUCKET: "b", config.LOG_LEVEL: "LOUD"},
    ],
)
def test_bad_values_fail_at_load(env: dict[str, str]) -> None:
    with pytest.raises(config.ConfigError):
        config.load(env)


def test_reindex_reads_only_its_variables() -> None:
    env = {
        config.BUCKET: "b",
        config.UPLOADS: "yes",  # the API's: not the reindexer's concern
        config.LOG_LEVEL: "debug",
        "AWS_REGION": "eu-west-1",
    }
    expected = config.Settings(bucket="b", region="eu-west-1", log_level="DEBUG")
    assert config.load_reindex(env) == expected
    with pytest.raises(config.ConfigError):
        config.load_reindex({config.LOG_LEVEL: "INFO"})
