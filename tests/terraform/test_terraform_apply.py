"""Apply examples/complete against moto server, read everything back, destroy.

One apply per session (about a minute: moto's lifecycle and SQS waiters dominate). The tests
run in file order: the empty second plan first, read-backs next, then the notification test
(which has to remove the bucket policy: moto refuses object calls under its conditional Denies,
see shared/terraform-testing.md), destroy last.

moto cannot run Lambda code; handler behaviour is tested in pytest elsewhere. This checks wiring.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import boto3
import pytest
from support.terraform import ROOT, run_tf, tf_env

from serverless_pypi import config
from serverless_pypi.authorizer import app as authz

REGION = "us-east-1"
#: A role named as an .index/ admin (it need not exist: the bucket policy only names its ARN).
ADMIN_ROLE = "arn:aws:iam::123456789012:role/pypi-admin"
# deletion_protection=false: what a user does before destroying on purpose (moto does not
# enforce deletion protection).
VARS = [
    "-var", "deletion_protection=false",
    "-var", f'index_admin_role_arns=["{ADMIN_ROLE}"]',
]  # fmt: skip
NAME = "acme-pypi"  # examples/complete's default name
READ_ROUTES = {
    f"{method} {path}"
    for method in ("GET", "HEAD")
    for path in (
        "/",
        "/simple",
        "/simple/{proxy+}",
        "/files/{proxy+}",
        "/project/{proxy+}",
        "/pypi/{proxy+}",
    )
}
UPLOAD_ROUTES = {"POST /", "POST /legacy", "POST /legacy/{proxy+}"}
OIDC_ROUTES = {"GET /_/oidc/{proxy+}", "POST /_/oidc/{proxy+}"}  # trusted publishing is on

# Test-only provider settings, merged into the example's provider block by terraform's override
# file mechanism; AWS_ENDPOINT_URL in the environment sends every service to moto.
PROVIDER_OVERRIDE = """\
provider "aws" {
  s3_use_path_style           = true
  skip_metadata_api_check     = true
  skip_credentials_validation = true
  max_retries                 = 2
}
"""


@dataclass
class Stack:
    """The applied example: where it lives, how to reach moto, what it output."""

    directory: Path
    env: dict[str, str]
    endpoint: str
    outputs: dict[str, Any]
    destroyed: bool = field(default=False)

    def client(self, service: str) -> Any:
        return boto3.client(
            service,
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="testing",
            aws_secret_access_key="testing",
        )


def _snapshot(target: Path) -> Path:
    """Copy the module, its submodules, its sources and examples/complete to ``target``.

    Others may edit src/ while this runs; a snapshot keeps the second plan honest, and terraform's
    state and .terraform/ stay out of the repository. The relative ``source = "../.."`` still
    resolves, to the snapshot.
    """
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for tf in ROOT.glob("*.tf"):
        shutil.copy(tf, target / tf.name)
    shutil.copytree(
        ROOT / "modules",
        target / "modules",
        ignore=shutil.ignore_patterns(".terraform*", "terraform.tfstate*"),
    )
    (target / "src").mkdir()
    shutil.copy(ROOT / "src" / "lambda_build.py", target / "src")
    shutil.copytree(
        ROOT / "src" / "serverless_pypi", target / "src" / "serverless_pypi", ignore=ignore
    )
    example = target / "examples" / "complete"
    shutil.copytree(
        ROOT / "examples" / "complete",
        example,
        ignore=shutil.ignore_patterns(".terraform*", "terraform.tfstate*"),
    )
    (example / "moto_override.tf").write_text(PROVIDER_OVERRIDE)
    return example


def _prebuild_layer(snapshot: Path) -> None:
    """Build the layer from PyPI once into the repository's build/ (cached across sessions by the
    builder's stamp) and seed the snapshot with it, so apply's build step needs no network."""
    cache = ROOT / "build"
    name = "layer-py3.13-arm64.zip"
    proc = subprocess.run(
        [sys.executable, ROOT / "src" / "lambda_build.py", "--only", "layer", "--out", cache],
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    if proc.returncode != 0:
        pytest.skip(
            f"could not build the dependency layer (PyPI unreachable?):\n{proc.stderr[-2000:]}"
        )
    (snapshot / "build").mkdir()
    for suffix in ("", ".inputs"):
        shutil.copy(cache / f"{name}{suffix}", snapshot / "build" / f"{name}{suffix}")


@pytest.fixture(scope="module")
def stack(empty_moto_server: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    snapshot = tmp_path_factory.mktemp("terraform-apply")
    directory = _snapshot(snapshot)
    _prebuild_layer(snapshot)
    env = tf_env(
        {
            "AWS_ENDPOINT_URL": empty_moto_server,
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
            "AWS_REGION": REGION,
            "AWS_DEFAULT_REGION": REGION,
        }
    )
    run_tf(["init", "-input=false"], cwd=directory, env=env)
    run_tf(["apply", "-auto-approve", "-input=false", *VARS], cwd=directory, env=env)
    outputs = json.loads(run_tf(["output", "-json"], cwd=directory, env=env).stdout)
    built = Stack(directory, env, empty_moto_server, {k: v["value"] for k, v in outputs.items()})
    yield built
    if not built.destroyed:  # a test failed before test_destroy: still clean up
        _empty_bucket(built)
        run_tf(
            ["destroy", "-auto-approve", "-input=false", *VARS],
            cwd=directory,
            env=env,
            ok_codes=(0, 1),
        )


def _empty_bucket(stack: Stack) -> None:
    """Delete every version and delete marker: moto answers 500 to destroying a versioned bucket
    that still holds a delete marker. The bucket policy goes first, or moto refuses the calls."""
    s3 = stack.client("s3")
    bucket = stack.outputs["bucket_name"]
    s3.delete_bucket_policy(Bucket=bucket)
    listing = s3.list_object_versions(Bucket=bucket)
    for entry in listing.get("Versions", []) + listing.get("DeleteMarkers", []):
        s3.delete_object(Bucket=bucket, Key=entry["Key"], VersionId=entry["VersionId"])


def test_second_plan_is_empty(stack: Stack) -> None:
    proc = run_tf(
        ["plan", "-detailed-exitcode", "-input=false", "-out=second.tfplan", *VARS],
        cwd=stack.directory, env=stack.env, ok_codes=(0, 2),
    )  # fmt: skip
    if proc.returncode == 2:
        shown = run_tf(["show", "-json", "second.tfplan"], cwd=stack.directory, env=stack.env)
        changes = [c for c in json.loads(shown.stdout)["resource_changes"] if _changed(c)]
        assert changes == [], f"second plan is not empty:\n{proc.stdout[-6000:]}"


def _changed(change: dict[str, Any]) -> bool:
    """Whether a planned change is real. moto returns a queue's RedrivePolicy re-serialized
    (``json.dumps`` spacing), which AWS does not; a change of only that is no change."""
    details = change["change"]
    if details["actions"] == ["no-op"]:
        return False
    if details["actions"] != ["update"]:
        return True
    before, after = details["before"], details["after"]
    differing = {k for k in set(before) | set(after) if before.get(k) != after.get(k)}
    return differing != {"redrive_policy"} or json.loads(before["redrive_policy"]) != json.loads(
        after["redrive_policy"]
    )


def test_functions(stack: Stack) -> None:
    lam = stack.client("lambda")
    api = lam.get_function_configuration(FunctionName=stack.outputs["api_function_name"])
    reindex = lam.get_function_configuration(FunctionName=stack.outputs["reindex_function_name"])
    authorizer = lam.get_function_configuration(
        FunctionName=stack.outputs["authorizer_function_name"]
    )
    assert api["Handler"] == "serverless_pypi.api.handler"
    assert reindex["Handler"] == "serverless_pypi.reindex.handler"
    assert authorizer["Handler"] == "serverless_pypi.authorizer.handler"
    functions = (api, reindex, authorizer)
    for function in functions:
        assert function["Runtime"] == "python3.13"
        assert function["Architectures"] == ["arm64"]
        assert function["TracingConfig"]["Mode"] == "Active"

    # One code zip and one layer for all three (modules/cognito reuses the root's package).
    (layer_arn,) = {layer["Arn"] for f in functions for layer in f["Layers"]}
    assert all(len(f["Layers"]) == 1 for f in functions)
    assert len({f["CodeSha256"] for f in functions}) == 1

    # The environment is exactly what config.py reads, with the example's values.
    api_env = api["Environment"]["Variables"]
    assert set(api_env) == config.API_ENV_VARS
    assert set(reindex["Environment"]["Variables"]) == config.REINDEX_ENV_VARS
    settings = config.load(api_env)  # what the handler will make of it at cold start
    assert settings.bucket == stack.outputs["bucket_name"]
    assert settings.uploads == "authenticated"
    assert settings.auth == "basic"
    assert settings.fallback_index_url is None
    assert settings.upstream_index_url == "https://pypi.org/simple/"
    assert settings.upstream_block == ("acme-*",)
    assert settings.upstream_min_age == 72 * 3600
    assert settings.upstream_copy_function == f"{NAME}-upstream-copy"
    copier = lam.get_function_configuration(FunctionName=settings.upstream_copy_function)
    assert copier["Handler"] == "serverless_pypi.upstream.copy.handler"
    assert copier["Timeout"] == 900
    assert set(copier["Environment"]["Variables"]) == config.UPSTREAM_COPY_ENV_VARS
    assert config.load_upstream_copy(copier["Environment"]["Variables"]).upstream_index_url
    assert settings.url_ttl == 300
    assert [p.projects for p in settings.trusted_publishers] == [("acme-widgets", "acme-widgets-*")]
    assert settings.oidc_audience == NAME  # the default: the name input
    assert settings.upload_permissions == (("team-a", ("acme-a-*",)),)
    assert settings.upload_token_key_id and ":key/" in settings.upload_token_key_id
    assert api["Role"] == stack.outputs["api_role_arn"]
    assert reindex["Role"] == stack.outputs["reindex_role_arn"]

    authorizer_env = authorizer["Environment"]["Variables"]
    assert set(authorizer_env) == config.AUTHORIZER_ENV_VARS
    authorizer_settings = authz.load_settings(authorizer_env)
    assert authorizer_settings.user_pool_id == stack.outputs["user_pool_id"]
    assert authorizer_settings.client_id == stack.outputs["client_id"]
    assert authorizer_settings.uploaders_group == "uploaders"
    assert authorizer_settings.cache_ttl == 300
    assert authorizer["Timeout"] == 10

    concurrency = lam.get_function_concurrency(FunctionName=reindex["FunctionName"])
    assert concurrency["ReservedConcurrentExecutions"] == 2
    invoke_config = lam.get_function_event_invoke_config(FunctionName=reindex["FunctionName"])
    destination = invoke_config["DestinationConfig"]["OnFailure"]["Destination"]
    assert destination.endswith(f":{NAME}-reindex-failures")

    (layer,) = lam.list_layer_versions(LayerName=f"{NAME}-dependencies")["LayerVersions"]
    assert layer["LayerVersionArn"] == layer_arn
    assert layer["CompatibleArchitectures"] == ["arm64"]
    assert layer["CompatibleRuntimes"] == ["python3.13"]


def test_bucket_hardening(stack: Stack) -> None:
    s3 = stack.client("s3")
    bucket = stack.outputs["bucket_name"]
    assert bucket.startswith(f"{NAME}-")
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    ownership = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]
    assert ownership["Rules"] == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]
    default = encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]
    assert default["SSEAlgorithm"] == "AES256"
    assert s3.get_bucket_versioning(Bucket=bucket)["Status"] == "Enabled"
    (rule,) = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert rule["NoncurrentVersionExpiration"]["NoncurrentDays"] == 90
    assert rule["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 3
    tls, index, cache = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])["Statement"]
    assert tls["Effect"] == "Deny"
    assert tls["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}
    # Only the reindex role and the named admin roles may write or delete under .index/.
    assert index["Effect"] == "Deny" and index["Principal"] == "*"
    assert index["Resource"] == [f"arn:aws:s3:::{bucket}/.index/*"]
    assert {"s3:PutObject", "s3:DeleteObject", "s3:DeleteObjectVersion"} <= set(index["Action"])
    assert index["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": [stack.outputs["reindex_role_arn"], ADMIN_ROLE]}
    }
    assert stack.outputs["reindex_role_arn"].endswith(f":role/{NAME}-reindex")
    # The upstream cache: only the API and copy roles (and the admins) may write it.
    assert cache["Resource"] == [f"arn:aws:s3:::{bucket}/.upstream/*"]
    assert cache["Action"] == index["Action"]
    copier_role = stack.outputs["api_role_arn"].replace("-api", "-upstream-copy")
    assert cache["Condition"] == {
        "ArnNotLike": {"aws:PrincipalArn": [stack.outputs["api_role_arn"], copier_role, ADMIN_ROLE]}
    }
    tags = {t["Key"]: t["Value"] for t in s3.get_bucket_tagging(Bucket=bucket)["TagSet"]}
    assert tags["project"] == "serverless-pypi"

    (topic_config,) = s3.get_bucket_notification_configuration(Bucket=bucket)["TopicConfigurations"]
    assert topic_config["TopicArn"] == stack.outputs["topic_arn"]
    assert set(topic_config["Events"]) == {"s3:ObjectCreated:*", "s3:ObjectRemoved:*"}


def test_topic_admits_only_this_bucket_and_feeds_reindex(stack: Stack) -> None:
    sns = stack.client("sns")
    topic = stack.outputs["topic_arn"]
    policy = json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"])
    (statement,) = policy["Statement"]
    assert statement["Principal"] == {"Service": "s3.amazonaws.com"}
    bucket_arn = f"arn:aws:s3:::{stack.outputs['bucket_name']}"
    assert statement["Condition"]["ArnEquals"] == {"aws:SourceArn": bucket_arn}

    (subscription,) = sns.list_subscriptions_by_topic(TopicArn=topic)["Subscriptions"]
    queue_url = stack.outputs["reindex_queue_url"]
    sqs = stack.client("sqs")
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    assert (subscription["Protocol"], subscription["Endpoint"]) == ("sqs", queue["QueueArn"])
    attributes = sns.get_subscription_attributes(SubscriptionArn=subscription["SubscriptionArn"])
    assert attributes["Attributes"].get("RawMessageDelivery", "false") == "false"


def test_queue_feeds_reindex_in_batches(stack: Stack) -> None:
    """S3 -> SNS -> SQS -> reindex: the queue admits only the topic, is encrypted, redrives to
    the failures queue (which has an alarm), and the function reads it in batches."""
    sqs, topic = stack.client("sqs"), stack.outputs["topic_arn"]
    queue_url = stack.outputs["reindex_queue_url"]
    queue = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["All"])["Attributes"]
    failures_url = stack.outputs["reindex_failures_queue_url"]
    failures = sqs.get_queue_attributes(QueueUrl=failures_url, AttributeNames=["QueueArn"])
    redrive = json.loads(queue["RedrivePolicy"])
    assert redrive["deadLetterTargetArn"] == failures["Attributes"]["QueueArn"]
    assert int(redrive["maxReceiveCount"]) == 5
    assert queue["SqsManagedSseEnabled"] == "true"
    assert int(queue["VisibilityTimeout"]) == 6 * 120
    (statement,) = json.loads(queue["Policy"])["Statement"]
    assert statement["Principal"] == {"Service": "sns.amazonaws.com"}
    assert statement["Action"] == "sqs:SendMessage"
    assert statement["Condition"] == {"ArnEquals": {"aws:SourceArn": topic}}

    lam = stack.client("lambda")
    function = stack.outputs["reindex_function_name"]
    reindex = lam.get_function_configuration(FunctionName=function)
    mappings = lam.list_event_source_mappings(EventSourceArn=queue["QueueArn"])
    (mapping,) = mappings["EventSourceMappings"]
    assert mapping["FunctionArn"] == reindex["FunctionArn"]
    assert mapping["BatchSize"] == 200
    assert mapping["MaximumBatchingWindowInSeconds"] == 2
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert reindex["Environment"]["Variables"][config.QUEUE_URL] == queue_url

    (alarm,) = stack.client("cloudwatch").describe_alarms(AlarmNamePrefix=f"{NAME}-reindex")[
        "MetricAlarms"
    ]
    assert alarm["Namespace"] == "AWS/SQS"
    assert alarm["Dimensions"] == [{"Name": "QueueName", "Value": f"{NAME}-reindex-failures"}]
    assert (alarm["Threshold"], alarm["ComparisonOperator"]) == (0, "GreaterThanThreshold")


def _lambda_policy(stack: Stack, function: str) -> dict[str, Any]:
    policy = json.loads(stack.client("lambda").get_policy(FunctionName=function)["Policy"])
    (statement,) = policy["Statement"]
    return statement


def test_routes_and_integration(stack: Stack) -> None:
    gateway = stack.client("apigatewayv2")
    api_id = stack.outputs["api_id"]
    routes = gateway.get_routes(ApiId=api_id)["Items"]
    assert {r["RouteKey"] for r in routes} == READ_ROUTES | UPLOAD_ROUTES | OIDC_ROUTES
    (integration,) = gateway.get_integrations(ApiId=api_id)["Items"]
    for route in routes:
        assert route["Target"] == f"integrations/{integration['IntegrationId']}"
        assert route["AuthorizationType"] == "CUSTOM"
    (authorizer_id,) = {route["AuthorizerId"] for route in routes}
    assert authorizer_id == stack.outputs["authorizer_id"]
    assert integration["IntegrationType"] == "AWS_PROXY"
    assert integration["PayloadFormatVersion"] == "2.0"
    api_function = stack.client("lambda").get_function_configuration(
        FunctionName=stack.outputs["api_function_name"]
    )
    assert api_function["FunctionArn"] in integration["IntegrationUri"]

    permission = _lambda_policy(stack, stack.outputs["api_function_name"])
    assert permission["Principal"] == {"Service": "apigateway.amazonaws.com"}
    source = permission["Condition"]["ArnLike"]["AWS:SourceArn"]
    assert source.startswith("arn:aws:execute-api:") and f":{api_id}/" in source

    assert stack.outputs["index_url"].endswith(
        f"{api_id}.execute-api.{REGION}.amazonaws.com/simple/"
    )
    assert stack.outputs["upload_url"].endswith("/legacy/")


def test_basic_auth_authorizer(stack: Stack) -> None:
    """REQUEST, payload 2.0, simple responses, no identity source, no gateway caching; only
    this API may invoke the function, and only as this authorizer."""
    gateway = stack.client("apigatewayv2")
    api_id, authorizer_id = stack.outputs["api_id"], stack.outputs["authorizer_id"]
    # (moto has no GetAuthorizers; every route names this one, see test_routes_and_integration)
    authorizer = gateway.get_authorizer(ApiId=api_id, AuthorizerId=authorizer_id)
    assert authorizer["AuthorizerType"] == "REQUEST"
    assert authorizer["AuthorizerPayloadFormatVersion"] == "2.0"
    assert authorizer["EnableSimpleResponses"] is True
    assert not authorizer.get("IdentitySource")
    assert authorizer.get("AuthorizerResultTtlInSeconds", 0) == 0
    function_arn = stack.client("lambda").get_function_configuration(
        FunctionName=stack.outputs["authorizer_function_name"]
    )["FunctionArn"]
    assert function_arn in authorizer["AuthorizerUri"]

    permission = _lambda_policy(stack, stack.outputs["authorizer_function_name"])
    assert permission["Principal"] == {"Service": "apigateway.amazonaws.com"}
    source = permission["Condition"]["ArnLike"]["AWS:SourceArn"]
    assert source.startswith("arn:aws:execute-api:")
    assert source.endswith(f":{api_id}/authorizers/{authorizer_id}")


def test_user_pool_client_and_group(stack: Stack) -> None:
    cognito = stack.client("cognito-idp")
    pool_id = stack.outputs["user_pool_id"]
    pool = cognito.describe_user_pool(UserPoolId=pool_id)["UserPool"]
    assert pool["Name"] == f"{NAME}-users"
    assert pool["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    policy = pool["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] == 12
    assert all(
        policy[f"Require{kind}"] for kind in ("Uppercase", "Lowercase", "Numbers", "Symbols")
    )
    assert pool["UsernameConfiguration"] == {"CaseSensitive": False}
    assert pool["MfaConfiguration"] == "OFF"

    client = cognito.describe_user_pool_client(
        UserPoolId=pool_id, ClientId=stack.outputs["client_id"]
    )["UserPoolClient"]
    assert set(client["ExplicitAuthFlows"]) == {
        "ALLOW_USER_PASSWORD_AUTH",
        "ALLOW_REFRESH_TOKEN_AUTH",
    }
    assert "ClientSecret" not in client
    assert client["PreventUserExistenceErrors"] == "ENABLED"

    (group,) = cognito.list_groups(UserPoolId=pool_id)["Groups"]
    assert group["GroupName"] == stack.outputs["uploaders_group_name"] == "uploaders"


def test_authorizer_signs_in_against_the_applied_pool(stack: Stack) -> None:
    """The authorizer code, with the environment Terraform gave the function, accepts a user of
    the applied pool and knows an uploader from a reader."""
    import base64

    cognito = stack.client("cognito-idp")
    pool_id = stack.outputs["user_pool_id"]
    password = "Applied-Pool-Passw0rd!"
    for user, upload in (("reader", False), ("publisher", True)):
        cognito.admin_create_user(UserPoolId=pool_id, Username=user, MessageAction="SUPPRESS")
        cognito.admin_set_user_password(
            UserPoolId=pool_id, Username=user, Password=password, Permanent=True
        )
        if upload:
            cognito.admin_add_user_to_group(
                UserPoolId=pool_id, Username=user, GroupName=stack.outputs["uploaders_group_name"]
            )
    env = stack.client("lambda").get_function_configuration(
        FunctionName=stack.outputs["authorizer_function_name"]
    )["Environment"]["Variables"]
    settings = authz.load_settings({**env, config.COGNITO_ENDPOINT_URL: stack.endpoint})
    checker = authz.Authorizer(settings)  # its own client, to the endpoint in the settings

    def verdict(user: str, secret: str) -> dict[str, Any]:
        token = base64.b64encode(f"{user}:{secret}".encode()).decode()
        return checker.authorize({"headers": {"authorization": f"Basic {token}"}})["context"]

    assert verdict("reader", password) == {
        "authenticated": True, "username": "reader", "uploader": False, "groups": "[]",
        "upload_token": False,
    }  # fmt: skip
    assert verdict("publisher", password)["uploader"] is True
    assert json.loads(verdict("publisher", password)["groups"]) == ["uploaders"]
    assert verdict("publisher", "Wrong-Passw0rd!!")["authenticated"] is False


def _statements(stack: Stack, role: str) -> list[dict[str, Any]]:
    iam = stack.client("iam")
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    assert iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"] == []
    document = iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"]
    document = json.loads(document) if isinstance(document, str) else document
    return document["Statement"]


def _allowed(statements: list[dict[str, Any]], action: str) -> list[str]:
    return [
        resource
        for s in statements
        if s["Effect"] == "Allow" and action in s["Action"]
        for resource in s["Resource"]
    ]


def test_iam_least_privilege(stack: Stack) -> None:
    bucket_arn = f"arn:aws:s3:::{stack.outputs['bucket_name']}"
    api = _statements(stack, f"{NAME}-api")
    reindex = _statements(stack, f"{NAME}-reindex")

    assert _allowed(api, "s3:GetObject") == [f"{bucket_arn}/*"]
    cache = [f"{bucket_arn}/.upstream/{part}/*" for part in ("projects", "metadata")]
    assert _allowed(api, "s3:PutObject") == [f"{bucket_arn}/*", *cache]  # uploads are on
    (copier_arn,) = _allowed(api, "lambda:InvokeFunction")
    assert copier_arn.endswith(f":function:{NAME}-upstream-copy")
    copier = _statements(stack, f"{NAME}-upstream-copy")
    assert _allowed(copier, "s3:PutObject") == [f"{bucket_arn}/.upstream/files/*"]
    assert _allowed(copier, "s3:GetObject") == [f"{bucket_arn}/.upstream/files/*"]
    assert _allowed(copier, "s3:DeleteObject") == []
    assert _allowed(api, "s3:DeleteObject") == []
    denied = [s for s in api if s["Effect"] == "Deny"]
    assert denied and denied[0]["Resource"] == [f"{bucket_arn}/.index/*"]

    assert _allowed(reindex, "s3:GetObject") == [f"{bucket_arn}/*"]
    assert _allowed(reindex, "s3:PutObject") == [f"{bucket_arn}/.index/*"]
    assert _allowed(reindex, "s3:DeleteObject") == [f"{bucket_arn}/.index/*"]
    queue_arn, failures_arn = _allowed(reindex, "sqs:SendMessage")
    assert queue_arn.endswith(f":{NAME}-reindex") and failures_arn.endswith(
        f":{NAME}-reindex-failures"
    )
    consume = ("ReceiveMessage", "DeleteMessage", "GetQueueAttributes", "ChangeMessageVisibility")
    for action in (f"sqs:{name}" for name in consume):
        assert _allowed(reindex, action) == [queue_arn]
    # The authorizer may write its logs and traces, nothing else (InitiateAuth is unsigned).
    authorizer = _statements(stack, f"{NAME}-authorizer")
    assert {a for s in authorizer for a in s["Action"]} == {
        "logs:CreateLogStream", "logs:PutLogEvents",
        "xray:PutTraceSegments", "xray:PutTelemetryRecords",
    }  # fmt: skip
    assert _allowed(authorizer, "logs:PutLogEvents")[0].endswith(
        f":log-group:/aws/lambda/{NAME}-authorizer:*"
    )
    for statements in (api, reindex, authorizer):
        assert _allowed(statements, "xray:PutTraceSegments") == ["*"]  # tracing is on
        assert all(not a.startswith("iam:") for s in statements for a in s["Action"])


def test_upload_token_key_macs_tokens(stack: Stack) -> None:
    """The KMS HMAC key the API function is given mints and verifies upload tokens; the API
    role may only GenerateMac/VerifyMac with it."""
    from serverless_pypi.publishing import tokens

    lam = stack.client("lambda")
    env = lam.get_function_configuration(FunctionName=stack.outputs["api_function_name"])
    key_arn = env["Environment"]["Variables"][config.UPLOAD_TOKEN_KEY_ID]
    metadata = stack.client("kms").describe_key(KeyId=key_arn)["KeyMetadata"]
    assert (metadata["KeySpec"], metadata["KeyUsage"]) == ("HMAC_256", "GENERATE_VERIFY_MAC")
    mac = tokens.KmsMac(key_arn, REGION)
    mac._client = stack.client("kms")
    token, _ = tokens.mint(mac, "publisher", ("acme-widgets",), 900)
    assert tokens.verify(mac, token).projects == ("acme-widgets",)
    api = _statements(stack, f"{NAME}-api")
    kms_actions = {a for s in api for a in s["Action"] if a.startswith("kms:")}
    assert kms_actions == {"kms:GenerateMac", "kms:VerifyMac"}
    assert _allowed(api, "kms:VerifyMac") == [key_arn]


def test_log_groups(stack: Stack) -> None:
    groups = stack.client("logs").describe_log_groups(logGroupNamePrefix=f"/aws/lambda/{NAME}-")
    retention = {g["logGroupName"]: g.get("retentionInDays") for g in groups["logGroups"]}
    assert retention == {
        f"/aws/lambda/{NAME}-api": 90,
        f"/aws/lambda/{NAME}-reindex": 90,
        f"/aws/lambda/{NAME}-authorizer": 90,
        f"/aws/lambda/{NAME}-upstream-copy": 90,
    }


def test_new_wheel_notifies_the_topic(stack: Stack) -> None:
    """Drop a wheel into the bucket; the S3 event reaches the topic (seen by an SQS probe)."""
    sns, sqs, s3 = stack.client("sns"), stack.client("sqs"), stack.client("s3")
    queue_url = sqs.create_queue(QueueName="test-probe")["QueueUrl"]
    queue_arn = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["QueueArn"])[
        "Attributes"
    ]["QueueArn"]
    subscription = sns.subscribe(
        TopicArn=stack.outputs["topic_arn"], Protocol="sqs", Endpoint=queue_arn
    )["SubscriptionArn"]
    try:
        bucket = stack.outputs["bucket_name"]
        s3.delete_bucket_policy(Bucket=bucket)  # moto applies the conditional Denies to every call
        key = "Demo_Pkg/demo_pkg-1.0-py3-none-any.whl"
        s3.put_object(Bucket=bucket, Key=key, Body=b"PK\x05\x06" + b"\0" * 18)
        records = _receive_s3_records(sqs, queue_url)
        assert any(
            r["eventName"].startswith("ObjectCreated:")
            and r["s3"]["bucket"]["name"] == bucket
            and r["s3"]["object"]["key"] in (key, "Demo_Pkg%2Fdemo_pkg-1.0-py3-none-any.whl")
            for r in records
        ), records
    finally:
        sns.unsubscribe(SubscriptionArn=subscription)
        sqs.delete_queue(QueueUrl=queue_url)


def _receive_s3_records(sqs: Any, queue_url: str, wait: float = 10) -> list[dict[str, Any]]:
    records: list[dict[str, Any]] = []
    deadline = time.monotonic() + wait
    while not records and time.monotonic() < deadline:
        for message in sqs.receive_message(QueueUrl=queue_url, WaitTimeSeconds=1).get(
            "Messages", []
        ):
            envelope = json.loads(message["Body"])
            records += json.loads(envelope["Message"]).get("Records", [])
    return records


def test_destroy_leaves_nothing(stack: Stack) -> None:
    _empty_bucket(stack)
    run_tf(["destroy", "-auto-approve", "-input=false", *VARS], cwd=stack.directory, env=stack.env)
    stack.destroyed = True

    assert stack.client("lambda").list_functions()["Functions"] == []
    assert stack.client("lambda").list_layers()["Layers"] == []
    assert stack.client("s3").list_buckets()["Buckets"] == []
    assert stack.client("sns").list_topics()["Topics"] == []
    assert stack.client("sns").list_subscriptions()["Subscriptions"] == []
    assert stack.client("sqs").list_queues().get("QueueUrls", []) == []
    assert stack.client("iam").list_roles()["Roles"] == []
    assert stack.client("logs").describe_log_groups()["logGroups"] == []
    assert stack.client("apigatewayv2").get_apis()["Items"] == []
    assert stack.client("cognito-idp").list_user_pools(MaxResults=10)["UserPools"] == []
