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


def test_web_image_hosts_are_checked_host_names() -> None:
    env = {config.BUCKET: "b", config.WEB_IMAGE_HOSTS: " img.shields.io, Badgen.net ,"}
    assert config.load_reindex(env).web_image_hosts == ("img.shields.io", "badgen.net")
    assert config.load_reindex({config.BUCKET: "b"}).web_image_hosts == ()
    for bad in ("https://img.shields.io", "*.example.com", "host:443", "a b", "x" * 300):
        with pytest.raises(config.ConfigError, match=config.WEB_IMAGE_HOSTS):
            config.load_reindex({config.BUCKET: "b", config.WEB_IMAGE_HOSTS: bad})
    with pytest.raises(config.ConfigError, match="at most"):
        config.image_hosts(",".join(f"h{i}.example" for i in range(51)))


def test_serve_web_image_host_flag_is_checked() -> None:
    import argparse

    from serverless_pypi.local import options

    parser = argparse.ArgumentParser()
    options.add_arguments(parser)
    argv = ["--web-image-host", "Img.Shields.io", "--web-image-host", "badgen.net"]
    parsed = options.from_arguments(parser.parse_args(argv))
    assert parsed.web_image_hosts == ("img.shields.io", "badgen.net")
    with pytest.raises(config.ConfigError, match="not a host name"):
        options.from_arguments(parser.parse_args(["--web-image-host", "https://x.example"]))
