# Plan-level assertions with a mocked AWS provider: no credentials, no network, a few seconds.
# Run: terraform init -backend=false && terraform test -test-directory=tests/terraform

mock_provider "aws" {
  # Known values at plan time (terraform >= 1.11), so policies and ARNs can be asserted on.
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_data "aws_s3_bucket" {
    defaults = { id = "existing-bucket", arn = "arn:aws:s3:::existing-bucket" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "test-bucket", arn = "arn:aws:s3:::test-bucket" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:serverless-pypi-events" }
  }
  mock_resource "aws_sqs_queue" {
    defaults = { arn = "arn:aws:sqs:us-east-1:123456789012:serverless-pypi-reindex-failures" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/x" }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:us-east-1:123456789012:function:x"
      invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:x/invocations"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/x" }
  }
  mock_resource "aws_kms_key" {
    defaults = { arn = "arn:aws:kms:us-east-1:123456789012:key/upload-tokens" }
  }
  mock_data "aws_partition" {
    defaults = { partition = "aws" }
  }
}

# The two queues need distinct ARNs for the reindex queue's assertions.
override_resource {
  target          = aws_sqs_queue.reindex
  override_during = plan
  values = {
    arn = "arn:aws:sqs:us-east-1:123456789012:serverless-pypi-reindex"
    id  = "https://sqs.us-east-1.amazonaws.com/123456789012/serverless-pypi-reindex"
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/serverless-pypi-reindex"
  }
}

override_resource {
  target          = aws_sqs_queue.reindex_failures
  override_during = plan
  values = {
    arn  = "arn:aws:sqs:us-east-1:123456789012:serverless-pypi-reindex-failures"
    name = "serverless-pypi-reindex-failures"
  }
}

variables {
  api_id            = "abc123defg"
  api_execution_arn = "arn:aws:execute-api:us-east-1:123456789012:abc123defg"
  api_endpoint      = "https://abc123defg.execute-api.us-east-1.amazonaws.com/"
  bucket_name       = "test-bucket"
}

run "defaults" {
  command = plan

  assert {
    condition     = aws_lambda_function.api.handler == "serverless_pypi.api.handler" && aws_lambda_function.reindex.handler == "serverless_pypi.reindex.handler"
    error_message = "Handlers must be serverless_pypi.api.handler and serverless_pypi.reindex.handler."
  }
  assert {
    condition     = aws_lambda_function.api.runtime == "python3.13" && aws_lambda_function.reindex.runtime == "python3.13" && one(aws_lambda_layer_version.dependencies.compatible_runtimes) == "python3.13"
    error_message = "Default runtime must be python3.13 for both functions and the layer."
  }
  assert {
    condition     = aws_lambda_function.api.architectures == tolist(["arm64"]) && aws_lambda_function.reindex.architectures == tolist(["arm64"]) && one(aws_lambda_layer_version.dependencies.compatible_architectures) == "arm64"
    error_message = "Default architecture must be arm64 everywhere."
  }
  assert {
    condition     = endswith(aws_lambda_layer_version.dependencies.filename, "/layer-py3.13-arm64.zip") && endswith(aws_lambda_function.api.filename, "/function.zip")
    error_message = "Zip names must match what `make package` builds."
  }
  assert {
    condition     = toset(keys(aws_lambda_function.api.environment[0].variables)) == toset(["SERVERLESS_PYPI_BUCKET", "SERVERLESS_PYPI_URL_TTL", "SERVERLESS_PYPI_FALLBACK_INDEX_URL", "SERVERLESS_PYPI_UPLOADS", "SERVERLESS_PYPI_LOG_LEVEL", "SERVERLESS_PYPI_AUTH", "SERVERLESS_PYPI_UPSTREAM_INDEX_URL", "SERVERLESS_PYPI_UPSTREAM_BLOCK", "SERVERLESS_PYPI_UPSTREAM_MIN_AGE", "SERVERLESS_PYPI_UPSTREAM_PAGE_TTL", "SERVERLESS_PYPI_UPSTREAM_COPY_FUNCTION", "SERVERLESS_PYPI_TRUSTED_PUBLISHERS", "SERVERLESS_PYPI_OIDC_AUDIENCE", "SERVERLESS_PYPI_UPLOAD_TOKEN_KEY_ID", "SERVERLESS_PYPI_UPLOAD_TOKEN_TTL", "SERVERLESS_PYPI_UPLOAD_PERMISSIONS"])
    error_message = "The API function's environment must be exactly config.API_ENV_VARS."
  }
  assert {
    condition     = toset(keys(aws_lambda_function.reindex.environment[0].variables)) == toset(["SERVERLESS_PYPI_BUCKET", "SERVERLESS_PYPI_LOG_LEVEL", "SERVERLESS_PYPI_QUEUE_URL", "SERVERLESS_PYPI_WEB_IMAGE_HOSTS", "SERVERLESS_PYPI_UPSTREAM_INDEX_URL", "SERVERLESS_PYPI_UPSTREAM_MIN_AGE"])
    error_message = "The reindex function's environment must be exactly config.REINDEX_ENV_VARS."
  }
  assert {
    condition = aws_lambda_function.api.environment[0].variables == tomap({
      SERVERLESS_PYPI_BUCKET             = "test-bucket"
      SERVERLESS_PYPI_URL_TTL            = "900"
      SERVERLESS_PYPI_FALLBACK_INDEX_URL = ""
      SERVERLESS_PYPI_UPLOADS            = "off"
      SERVERLESS_PYPI_LOG_LEVEL          = "INFO"
      SERVERLESS_PYPI_AUTH               = "none"
      # The upstream proxy is off; the cooldown and TTL keep their defaults.
      SERVERLESS_PYPI_UPSTREAM_INDEX_URL     = ""
      SERVERLESS_PYPI_UPSTREAM_BLOCK         = ""
      SERVERLESS_PYPI_UPSTREAM_MIN_AGE       = "0"
      SERVERLESS_PYPI_UPSTREAM_PAGE_TTL      = "10m"
      SERVERLESS_PYPI_UPSTREAM_COPY_FUNCTION = ""
      # Trusted publishing off (tests/terraform/publishing.tftest.hcl).
      SERVERLESS_PYPI_TRUSTED_PUBLISHERS  = ""
      SERVERLESS_PYPI_OIDC_AUDIENCE       = "serverless-pypi"
      SERVERLESS_PYPI_UPLOAD_TOKEN_KEY_ID = ""
      SERVERLESS_PYPI_UPLOAD_TOKEN_TTL    = "900"
      SERVERLESS_PYPI_UPLOAD_PERMISSIONS  = "{}"
    })
    error_message = "Unexpected default environment values for the API function."
  }
  assert {
    condition     = toset(keys(aws_apigatewayv2_route.api)) == toset(["GET /", "HEAD /", "GET /simple", "HEAD /simple", "GET /simple/{proxy+}", "HEAD /simple/{proxy+}", "GET /files/{proxy+}", "HEAD /files/{proxy+}", "GET /project/{proxy+}", "HEAD /project/{proxy+}", "GET /pypi/{proxy+}", "HEAD /pypi/{proxy+}"])
    error_message = "With uploads off the routes must be the read routes only."
  }
  assert {
    condition     = alltrue([for r in aws_apigatewayv2_route.api : r.authorization_type == "NONE" && r.authorizer_id == null])
    error_message = "Without an authorizer every route must be authorization NONE."
  }
  assert {
    condition     = output.lambda_package.zip == aws_lambda_function.api.filename && output.lambda_package.source_code_hash == aws_lambda_function.api.source_code_hash && output.lambda_package.runtime == "python3.13" && output.lambda_package.architecture == "arm64"
    error_message = "lambda_package must hand modules/cognito the API function's zip, hash, layer, runtime and architecture."
  }
  assert {
    condition     = aws_apigatewayv2_integration.api.payload_format_version == "2.0" && aws_apigatewayv2_integration.api.integration_type == "AWS_PROXY"
    error_message = "The integration must be an AWS_PROXY payload 2.0 integration."
  }
  assert {
    condition     = aws_lambda_permission.api_from_gateway.source_arn == "arn:aws:execute-api:us-east-1:123456789012:abc123defg/*/*" && aws_lambda_permission.api_from_gateway.principal == "apigateway.amazonaws.com"
    error_message = "The API permission must be scoped to the API's execution ARN."
  }
  # IAM: the API role reads and never writes; the reindex role writes only .index/.
  assert {
    condition     = toset(flatten([for s in jsondecode(aws_iam_role_policy.api.policy).Statement : s.Action if s.Effect == "Allow" && startswith(s.Action[0], "s3:")])) == toset(["s3:GetObject", "s3:ListBucket"])
    error_message = "With uploads off the API role may only read S3."
  }
  assert {
    condition     = anytrue([for s in jsondecode(aws_iam_role_policy.api.policy).Statement : s.Effect == "Deny" && s.Resource == ["arn:aws:s3:::test-bucket/.index/*"] && contains(s.Action, "s3:PutObject") && contains(s.Action, "s3:DeleteObject")])
    error_message = "The API role must be denied writes under .index/."
  }
  assert {
    condition = toset([for s in jsondecode(aws_iam_role_policy.reindex.policy).Statement : jsonencode([s.Action, s.Resource]) if s.Effect == "Allow" && startswith(s.Action[0], "s3:")]) == toset([
      jsonencode([["s3:GetObject"], ["arn:aws:s3:::test-bucket/*"]]),
      jsonencode([["s3:ListBucket"], ["arn:aws:s3:::test-bucket"]]),
      jsonencode([["s3:PutObject", "s3:DeleteObject"], ["arn:aws:s3:::test-bucket/.index/*"]]),
    ])
    error_message = "The reindex role must read the bucket and write or delete only under .index/."
  }
  assert {
    condition     = anytrue([for s in jsondecode(aws_iam_role_policy.reindex.policy).Statement : s.Action == ["sqs:SendMessage"] && s.Resource == [aws_sqs_queue.reindex_failures.arn]])
    error_message = "The reindex role must be able to send failures to its queue."
  }
  assert {
    condition     = !strcontains(aws_iam_role_policy.api.policy, "xray:") && !strcontains(aws_iam_role_policy.api.policy, "kms:")
    error_message = "No X-Ray or KMS permissions unless asked for."
  }
  # S3 hardening.
  assert {
    condition     = aws_s3_bucket_public_access_block.this[0].block_public_acls && aws_s3_bucket_public_access_block.this[0].block_public_policy && aws_s3_bucket_public_access_block.this[0].ignore_public_acls && aws_s3_bucket_public_access_block.this[0].restrict_public_buckets
    error_message = "All four public access blocks must be on."
  }
  assert {
    condition     = aws_s3_bucket_versioning.this[0].versioning_configuration[0].status == "Enabled" && aws_s3_bucket_ownership_controls.this[0].rule[0].object_ownership == "BucketOwnerEnforced"
    error_message = "Versioning and BucketOwnerEnforced ownership must be on."
  }
  assert {
    condition     = length(aws_s3_bucket_lifecycle_configuration.this[0].rule[0].noncurrent_version_expiration) == 0 && aws_s3_bucket_lifecycle_configuration.this[0].rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 7
    error_message = "Lifecycle must keep noncurrent versions by default and abort multipart uploads."
  }
  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.this[0].rule : one(r.apply_server_side_encryption_by_default).sse_algorithm]) == "AES256"
    error_message = "Default encryption must be SSE-S3 without a KMS key."
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[0].Effect == "Deny" && jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[0].Condition.Bool["aws:SecureTransport"] == "false"
    error_message = "The bucket policy must deny non-TLS requests."
  }
  # .index/ is the reindex role's alone: a Deny to every other principal in the bucket policy.
  assert {
    condition = jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[1] == {
      Sid       = "DenyIndexWritesExceptReindex"
      Effect    = "Deny"
      Principal = "*"
      Action    = ["s3:PutObject", "s3:PutObjectAcl", "s3:PutObjectVersionAcl", "s3:DeleteObject", "s3:DeleteObjectVersion", "s3:ReplicateObject", "s3:ReplicateDelete"]
      Resource  = ["arn:aws:s3:::test-bucket/.index/*"]
      Condition = { ArnNotLike = { "aws:PrincipalArn" = [aws_iam_role.reindex.arn] } }
    }
    error_message = "The bucket policy must deny writes and deletes under .index/ to every principal but the reindex role."
  }
  assert {
    condition     = length(jsondecode(aws_s3_bucket_policy.this[0].policy).Statement) == 2 && output.index_write_deny_statement == jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[1]
    error_message = "The bucket policy must hold the TLS and .index/ statements, the latter as the index_write_deny_statement output."
  }
  assert {
    condition     = !anytrue([for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement : s.Effect == "Allow"])
    error_message = "The bucket policy must only deny; access is granted by identity policies."
  }
  assert {
    condition     = toset(aws_s3_bucket_notification.events.topic[0].events) == toset(["s3:ObjectCreated:*", "s3:ObjectRemoved:*"])
    error_message = "The bucket must notify the topic of created and removed objects."
  }
  assert {
    condition     = jsondecode(aws_sns_topic_policy.events.policy).Statement[0].Condition.ArnEquals["aws:SourceArn"] == "arn:aws:s3:::test-bucket" && jsondecode(aws_sns_topic_policy.events.policy).Statement[0].Principal.Service == "s3.amazonaws.com"
    error_message = "The topic policy must admit only this bucket."
  }
  assert {
    condition     = aws_sns_topic_subscription.reindex_queue.protocol == "sqs" && aws_lambda_event_source_mapping.reindex.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The reindex queue must be subscribed to the topic and feed the function with partial batch failures."
  }
  assert {
    condition     = aws_lambda_function_event_invoke_config.reindex.destination_config[0].on_failure[0].destination == aws_sqs_queue.reindex_failures.arn
    error_message = "Failed reindex events must go to the SQS queue."
  }
  assert {
    condition     = aws_cloudwatch_log_group.api.retention_in_days == 30 && aws_cloudwatch_log_group.reindex.retention_in_days == 30
    error_message = "Log groups must have the default 30-day retention."
  }
  assert {
    condition     = aws_lambda_function.api.tracing_config[0].mode == "PassThrough" && aws_lambda_function.reindex.reserved_concurrent_executions == null
    error_message = "Tracing off and unreserved concurrency by default."
  }
  assert {
    condition     = output.index_url == "https://abc123defg.execute-api.us-east-1.amazonaws.com/simple/" && output.upload_url == null
    error_message = "index_url must be the endpoint's /simple/; upload_url null with uploads off."
  }
}

run "uploads_behind_authorizer" {
  command = plan

  variables {
    uploads            = "authenticated"
    authorization_type = "CUSTOM"
    authorizer_id      = "auth123"
    fallback_index_url = "https://pypi.org/simple/"
    tracing            = true
    kms_key_arn        = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
    architecture       = "x86_64"
    runtime            = "python3.12"
    api_endpoint       = "https://pypi.example.com/prod"

    reindex_reserved_concurrency = 3
  }

  assert {
    condition     = toset(keys(aws_apigatewayv2_route.api)) == toset(["GET /", "HEAD /", "GET /simple", "HEAD /simple", "GET /simple/{proxy+}", "HEAD /simple/{proxy+}", "GET /files/{proxy+}", "HEAD /files/{proxy+}", "GET /project/{proxy+}", "HEAD /project/{proxy+}", "GET /pypi/{proxy+}", "HEAD /pypi/{proxy+}", "POST /", "POST /legacy", "POST /legacy/{proxy+}"])
    error_message = "With uploads on, POST / and POST /legacy must be routed too."
  }
  assert {
    condition     = alltrue([for r in aws_apigatewayv2_route.api : r.authorization_type == "CUSTOM" && r.authorizer_id == "auth123"])
    error_message = "The authorizer must apply to every route."
  }
  assert {
    condition     = anytrue([for s in jsondecode(aws_iam_role_policy.api.policy).Statement : s.Effect == "Allow" && s.Action == ["s3:PutObject"] && s.Resource == ["arn:aws:s3:::test-bucket/*"]])
    error_message = "With uploads on the API role may put distributions."
  }
  assert {
    condition     = anytrue([for s in jsondecode(aws_iam_role_policy.api.policy).Statement : s.Effect == "Deny" && s.Resource == ["arn:aws:s3:::test-bucket/.index/*"]])
    error_message = "With uploads on the API role must still be denied .index/."
  }
  assert {
    condition     = strcontains(aws_iam_role_policy.api.policy, "xray:PutTraceSegments") && strcontains(aws_iam_role_policy.reindex.policy, "kms:Decrypt")
    error_message = "X-Ray and KMS permissions must follow the inputs."
  }
  assert {
    condition     = aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_UPLOADS"] == "authenticated" && aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_AUTH"] == "basic" && aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_FALLBACK_INDEX_URL"] == "https://pypi.org/simple/"
    error_message = "Upload mode and fallback URL must reach the API function."
  }
  assert {
    condition     = aws_lambda_function.api.architectures == tolist(["x86_64"]) && endswith(aws_lambda_layer_version.dependencies.filename, "/layer-py3.12-x86_64.zip") && aws_lambda_function.api.runtime == "python3.12"
    error_message = "Architecture and runtime must reach the functions and the layer build."
  }
  assert {
    condition     = aws_lambda_function.api.tracing_config[0].mode == "Active" && aws_lambda_function.reindex.reserved_concurrent_executions == 3
    error_message = "Tracing and reserved concurrency must follow the inputs."
  }
  assert {
    condition     = one([for r in aws_s3_bucket_server_side_encryption_configuration.this[0].rule : one(r.apply_server_side_encryption_by_default).sse_algorithm]) == "aws:kms" && aws_sns_topic.events.kms_master_key_id == var.kms_key_arn
    error_message = "A KMS key must encrypt the bucket and the topic."
  }
  assert {
    condition     = output.upload_url == "https://pypi.example.com/prod/legacy/" && output.index_url == "https://pypi.example.com/prod/simple/"
    error_message = "URLs must include the stage path."
  }
}

run "existing_bucket" {
  command = plan

  variables {
    create_bucket         = false
    bucket_name           = "existing-bucket"
    index_admin_role_arns = ["arn:aws:iam::123456789012:role/pypi-admin"]
  }

  assert {
    condition     = length(aws_s3_bucket.this) == 0 && length(aws_s3_bucket_policy.this) == 0
    error_message = "An existing bucket must not be created or reconfigured."
  }
  assert {
    condition     = output.index_write_deny_statement.Resource == ["arn:aws:s3:::existing-bucket/.index/*"] && output.index_write_deny_statement.Condition.ArnNotLike["aws:PrincipalArn"] == [aws_iam_role.reindex.arn, "arn:aws:iam::123456789012:role/pypi-admin"]
    error_message = "For an existing bucket the .index/ statement must still be output, for its owner to apply."
  }
  assert {
    condition     = aws_s3_bucket_notification.events.bucket == "existing-bucket" && aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_BUCKET"] == "existing-bucket"
    error_message = "The existing bucket must be wired up."
  }
}

run "index_admin_roles" {
  command = plan

  variables {
    index_admin_role_arns = [
      "arn:aws:iam::123456789012:role/pypi-admin",
      "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_*",
    ]
  }

  assert {
    condition = jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[1].Condition == {
      ArnNotLike = { "aws:PrincipalArn" = [
        aws_iam_role.reindex.arn,
        "arn:aws:iam::123456789012:role/pypi-admin",
        "arn:aws:iam::123456789012:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_*",
      ] }
    }
    error_message = "The reindex role and every admin role, and only they, must be exempt from the .index/ Deny."
  }
  assert {
    condition     = jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[1].Effect == "Deny" && jsondecode(aws_s3_bucket_policy.this[0].policy).Statement[1].Resource == ["arn:aws:s3:::test-bucket/.index/*"]
    error_message = "Admin roles must not widen the Deny's scope or turn it into an Allow."
  }
}

run "noncurrent_version_expiration" {
  command = plan
  variables {
    noncurrent_version_expiration_days = 90
  }
  assert {
    condition     = aws_s3_bucket_lifecycle_configuration.this[0].rule[0].noncurrent_version_expiration[0].noncurrent_days == 90 && aws_s3_bucket_lifecycle_configuration.this[0].rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 7
    error_message = "noncurrent_version_expiration_days must expire noncurrent versions after that many days."
  }
}

run "rejects_bad_noncurrent_version_expiration" {
  command = plan
  variables {
    noncurrent_version_expiration_days = 0.5
  }
  expect_failures = [var.noncurrent_version_expiration_days]
}

run "rejects_non_role_index_admins" {
  command = plan
  variables {
    index_admin_role_arns = [
      "arn:aws:iam::123456789012:role/ok",
      "arn:aws:sts::123456789012:assumed-role/admin/session",
      "arn:aws:iam::123456789012:user/alice",
      "*",
    ]
  }
  expect_failures = [var.index_admin_role_arns]
}

run "authenticated_uploads_need_an_authorizer" {
  command = plan
  variables {
    uploads = "authenticated"
  }
  expect_failures = [aws_apigatewayv2_integration.api]
}

run "authorizer_id_without_type" {
  command = plan
  variables {
    authorizer_id = "auth123"
  }
  expect_failures = [aws_apigatewayv2_integration.api]
}

run "rejects_dotted_bucket_name" {
  command = plan
  variables {
    bucket_name = "my.bucket"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_bad_bucket_name" {
  command = plan
  variables {
    bucket_name = "Bucket_Name"
  }
  expect_failures = [var.bucket_name]
}

run "rejects_short_url_ttl" {
  command = plan
  variables {
    url_ttl = 5
  }
  expect_failures = [var.url_ttl]
}

run "rejects_long_url_ttl" {
  command = plan
  variables {
    url_ttl = 604801
  }
  expect_failures = [var.url_ttl]
}

run "rejects_bad_fallback_url" {
  command = plan
  variables {
    fallback_index_url = "pypi.org/simple"
  }
  expect_failures = [var.fallback_index_url]
}

run "rejects_unknown_upload_mode" {
  command = plan
  variables {
    uploads = "on"
  }
  expect_failures = [var.uploads]
}

run "rejects_small_memory" {
  command = plan
  variables {
    api_memory_size     = 64
    reindex_memory_size = 20000
  }
  expect_failures = [var.api_memory_size, var.reindex_memory_size]
}

run "rejects_api_timeout_over_gateway_limit" {
  command = plan
  variables {
    api_timeout = 60
  }
  expect_failures = [var.api_timeout]
}

run "rejects_infinite_log_retention" {
  command = plan
  variables {
    log_retention_days = 0
  }
  expect_failures = [var.log_retention_days]
}

run "rejects_bad_arch_and_runtime" {
  command = plan
  variables {
    architecture = "arm"
    runtime      = "python3.9"
  }
  expect_failures = [var.architecture, var.runtime]
}

run "rejects_http_endpoint_and_bad_arn" {
  command = plan
  variables {
    api_endpoint      = "http://insecure.example.com"
    api_execution_arn = "arn:aws:lambda:us-east-1:123456789012:function:x"
  }
  expect_failures = [var.api_endpoint, var.api_execution_arn]
}

run "upstream_off_by_default" {
  command = plan

  assert {
    condition     = length(aws_lambda_function.upstream_copy) == 0 && aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_UPSTREAM_INDEX_URL"] == "" && aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_UPSTREAM_COPY_FUNCTION"] == ""
    error_message = "Without upstream_index_url there is no copy function and the proxy is off."
  }
  assert {
    condition     = !strcontains(aws_iam_role_policy.api.policy, "lambda:InvokeFunction") && !strcontains(aws_iam_role_policy.api.policy, ".upstream/")
    error_message = "Without the proxy the API role gets no cache or invoke permissions."
  }
  assert {
    condition     = output.upstream_copy_function_name == null && output.upstream_write_deny_statement == null
    error_message = "No copy function, no name, and no .upstream/ statement."
  }
  assert {
    condition     = aws_lambda_function.reindex.environment[0].variables["SERVERLESS_PYPI_UPSTREAM_INDEX_URL"] == ""
    error_message = "Without the proxy the reindex function renders no upstream pages."
  }
}

run "upstream_proxy" {
  command = plan

  variables {
    upstream_index_url = "https://pypi.org/simple/"
    upstream_block     = ["acme-*", "internal_*"]
    upstream_min_age   = "72h"
  }

  assert {
    condition     = aws_lambda_function.upstream_copy[0].handler == "serverless_pypi.upstream.copy.handler" && aws_lambda_function.upstream_copy[0].timeout == 900
    error_message = "The copy function runs the copy handler with Lambda's 15 minutes."
  }
  assert {
    condition = (
      aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_UPSTREAM_INDEX_URL"] == "https://pypi.org/simple/"
      && aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_UPSTREAM_BLOCK"] == "acme-*,internal_*"
      && aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_UPSTREAM_MIN_AGE"] == "72h"
      && aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_UPSTREAM_PAGE_TTL"] == "10m"
      && aws_lambda_function.api.environment[0].variables["SERVERLESS_PYPI_UPSTREAM_COPY_FUNCTION"] == "serverless-pypi-upstream-copy"
    )
    error_message = "The upstream settings must reach the API function."
  }
  assert {
    condition     = anytrue([for s in jsondecode(aws_iam_role_policy.api.policy).Statement : s.Action == ["lambda:InvokeFunction"] && s.Resource == [aws_lambda_function.upstream_copy[0].arn]])
    error_message = "The API may invoke the copy function, and only it."
  }
  assert {
    condition     = anytrue([for s in jsondecode(aws_iam_role_policy.api.policy).Statement : s.Sid == "WriteUpstreamCache" && s.Action == ["s3:PutObject"] && s.Resource == ["arn:aws:s3:::test-bucket/.upstream/projects/*", "arn:aws:s3:::test-bucket/.upstream/metadata/*"]])
    error_message = "The API writes the fetched documents and METADATA under .upstream/ only, never the pages (the reindex function's) nor the copies."
  }
  assert {
    condition = (
      aws_lambda_function.reindex.environment[0].variables["SERVERLESS_PYPI_UPSTREAM_INDEX_URL"] == "https://pypi.org/simple/"
      && aws_lambda_function.reindex.environment[0].variables["SERVERLESS_PYPI_UPSTREAM_MIN_AGE"] == "72h"
    )
    error_message = "The reindex function renders the upstream pages: it needs the upstream URL and the cooldown."
  }
  assert {
    condition     = output.upstream_write_deny_statement.Sid == "DenyUpstreamCacheWritesExceptProxy" && output.upstream_write_deny_statement.Resource == ["arn:aws:s3:::test-bucket/.upstream/*"]
    error_message = "The upstream_write_deny_statement output is the bucket policy's .upstream/ statement."
  }
  assert {
    condition     = alltrue([for s in jsondecode(aws_iam_role_policy.upstream_copy[0].policy).Statement : !contains(s.Action, "s3:PutObject") || s.Resource == ["arn:aws:s3:::test-bucket/.upstream/files/*"]])
    error_message = "The copy function writes under .upstream/files/ only."
  }
  assert {
    condition     = anytrue([for s in jsondecode(aws_s3_bucket_policy.this[0].policy).Statement : s.Sid == "DenyUpstreamCacheWritesExceptProxy" && s.Resource == ["arn:aws:s3:::test-bucket/.upstream/*"]])
    error_message = "The bucket policy keeps other writers out of the upstream cache."
  }
  assert {
    condition     = output.upstream_copy_function_name == "serverless-pypi-upstream-copy"
    error_message = "The copy function's name is an output."
  }
}

run "rejects_upstream_with_fallback" {
  command = plan

  variables {
    upstream_index_url = "https://pypi.org/simple/"
    fallback_index_url = "https://pypi.org/simple/"
  }
  expect_failures = [aws_lambda_function.upstream_copy]
}

run "rejects_bad_upstream_inputs" {
  command = plan

  variables {
    upstream_index_url = "pypi.org/simple"
    upstream_min_age   = "3 days"
    upstream_block     = ["acme/*"]
  }
  expect_failures = [var.upstream_index_url, var.upstream_min_age, var.upstream_block]
}

# --- Trusted publishing and upload rights ---------------------------------------------------

run "off_by_default" {
  command = plan

  assert {
    condition     = length(aws_kms_key.upload_tokens) == 0
    error_message = "No upload-token key without trusted publishers."
  }
  assert {
    condition     = !anytrue([for r in keys(aws_apigatewayv2_route.api) : strcontains(r, "/_/oidc/")])
    error_message = "No /_/oidc routes without trusted publishers."
  }
  assert {
    condition     = aws_lambda_function.api.environment[0].variables.SERVERLESS_PYPI_TRUSTED_PUBLISHERS == "" && aws_lambda_function.api.environment[0].variables.SERVERLESS_PYPI_UPLOAD_TOKEN_KEY_ID == ""
    error_message = "Trusted publishing must be off in the environment."
  }
  assert {
    condition     = aws_lambda_function.api.environment[0].variables.SERVERLESS_PYPI_OIDC_AUDIENCE == "serverless-pypi" && aws_lambda_function.api.environment[0].variables.SERVERLESS_PYPI_UPLOAD_TOKEN_TTL == "900" && aws_lambda_function.api.environment[0].variables.SERVERLESS_PYPI_UPLOAD_PERMISSIONS == "{}"
    error_message = "Defaults: audience = name, 15-minute tokens, no group permissions."
  }
  assert {
    condition     = !anytrue([for s in jsondecode(aws_iam_role_policy.api.policy).Statement : anytrue([for a in s.Action : startswith(a, "kms:")])])
    error_message = "No KMS permission without trusted publishers."
  }
}

run "trusted_publishers" {
  command = plan

  variables {
    uploads            = "authenticated"
    authorization_type = "CUSTOM"
    authorizer_id      = "auth123"
    name               = "acme-pypi"
    trusted_publishers = [{
      issuer   = "https://token.actions.githubusercontent.com"
      claims   = { repository = "acme/widgets", ref = "refs/heads/main" }
      projects = ["acme-*"]
    }]
    upload_permissions = { "team-a" = ["acme-a-*"] }
  }

  assert {
    condition     = aws_kms_key.upload_tokens[0].customer_master_key_spec == "HMAC_256" && aws_kms_key.upload_tokens[0].key_usage == "GENERATE_VERIFY_MAC"
    error_message = "Upload tokens are MAC'd with a KMS HMAC key."
  }
  assert {
    condition     = contains(keys(aws_apigatewayv2_route.api), "GET /_/oidc/{proxy+}") && contains(keys(aws_apigatewayv2_route.api), "POST /_/oidc/{proxy+}")
    error_message = "The audience and mint-token routes must reach the API."
  }
  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.api.policy).Statement : s if anytrue([for a in s.Action : startswith(a, "kms:")])] == [{ Sid = "UploadTokens", Effect = "Allow", Action = ["kms:GenerateMac", "kms:VerifyMac"], Resource = ["arn:aws:kms:us-east-1:123456789012:key/upload-tokens"] }]
    error_message = "The API role may only GenerateMac/VerifyMac with the upload-token key."
  }
  assert {
    condition     = jsondecode(aws_lambda_function.api.environment[0].variables.SERVERLESS_PYPI_TRUSTED_PUBLISHERS) == [{ issuer = "https://token.actions.githubusercontent.com", claims = { ref = "refs/heads/main", repository = "acme/widgets" }, projects = ["acme-*"] }]
    error_message = "The publishers go to the API as JSON."
  }
  assert {
    condition     = aws_lambda_function.api.environment[0].variables.SERVERLESS_PYPI_UPLOAD_TOKEN_KEY_ID == "arn:aws:kms:us-east-1:123456789012:key/upload-tokens" && aws_lambda_function.api.environment[0].variables.SERVERLESS_PYPI_OIDC_AUDIENCE == "acme-pypi"
    error_message = "Key ARN and the audience (default: name) must be set."
  }
  assert {
    condition     = jsondecode(aws_lambda_function.api.environment[0].variables.SERVERLESS_PYPI_UPLOAD_PERMISSIONS) == { "team-a" = ["acme-a-*"] }
    error_message = "upload_permissions go to the API as JSON."
  }
}

run "publisher_without_claims_is_refused" {
  command = plan
  variables {
    uploads            = "unauthenticated-insecure"
    trusted_publishers = [{ issuer = "https://gitlab.com", claims = {}, projects = ["acme-*"] }]
  }
  expect_failures = [var.trusted_publishers]
}

run "publisher_without_projects_is_refused" {
  command = plan
  variables {
    uploads            = "unauthenticated-insecure"
    trusted_publishers = [{ issuer = "https://gitlab.com", claims = { project_path = "acme/widgets" }, projects = [] }]
  }
  expect_failures = [var.trusted_publishers]
}

run "http_issuer_is_refused" {
  command = plan
  variables {
    uploads            = "unauthenticated-insecure"
    trusted_publishers = [{ issuer = "http://gitlab.com", claims = { project_path = "acme/widgets" }, projects = ["acme-*"] }]
  }
  expect_failures = [var.trusted_publishers]
}

run "reserved_claim_and_bad_glob_are_refused" {
  command = plan
  variables {
    uploads            = "unauthenticated-insecure"
    trusted_publishers = [{ issuer = "https://gitlab.com", claims = { aud = "x" }, projects = ["Acme/*"] }]
  }
  expect_failures = [var.trusted_publishers]
}

run "token_ttl_is_bounded" {
  command = plan
  variables {
    upload_token_ttl = 86400
  }
  expect_failures = [var.upload_token_ttl]
}

run "bad_permission_glob_is_refused" {
  command = plan
  variables {
    upload_permissions = { "team-a" = ["ACME A"] }
  }
  expect_failures = [var.upload_permissions]
}

run "trusted_publishing_needs_uploads" {
  command = plan
  variables {
    trusted_publishers = [{ issuer = "https://gitlab.com", claims = { project_path = "acme/widgets" }, projects = ["acme-*"] }]
  }
  expect_failures = [aws_kms_key.upload_tokens]
}

# --- The reindex queue (queue.tf) ---------------------------------------------------------------

run "queue_defaults" {
  command = plan

  assert {
    condition     = aws_lambda_event_source_mapping.reindex.batch_size == 100 && aws_lambda_event_source_mapping.reindex.maximum_batching_window_in_seconds == 1 && aws_lambda_event_source_mapping.reindex.scaling_config[0].maximum_concurrency == 10
    error_message = "Default batches: 100 messages, a 1 s window, at most 10 at once."
  }
  assert {
    condition     = aws_lambda_event_source_mapping.reindex.event_source_arn == aws_sqs_queue.reindex.arn && aws_lambda_event_source_mapping.reindex.function_response_types == toset(["ReportBatchItemFailures"])
    error_message = "The event source mapping must read the reindex queue and report partial batch failures."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.reindex.redrive_policy).deadLetterTargetArn == aws_sqs_queue.reindex_failures.arn && jsondecode(aws_sqs_queue.reindex.redrive_policy).maxReceiveCount == 5
    error_message = "Messages tried 5 times must move to the failures queue."
  }
  assert {
    condition     = aws_sqs_queue.reindex.visibility_timeout_seconds == 720 && aws_sqs_queue.reindex.message_retention_seconds < aws_sqs_queue.reindex_failures.message_retention_seconds
    error_message = "Visibility timeout must be six times the function timeout; the failures queue must keep messages longer than the queue."
  }
  assert {
    condition     = aws_sqs_queue.reindex.sqs_managed_sse_enabled == true && aws_sqs_queue.reindex.kms_master_key_id == null
    error_message = "Without kms_key_arn the queue must use SSE-SQS."
  }
  assert {
    condition     = aws_sns_topic_subscription.reindex_queue.protocol == "sqs" && aws_sns_topic_subscription.reindex_queue.endpoint == aws_sqs_queue.reindex.arn && aws_sns_topic_subscription.reindex_queue.raw_message_delivery == false
    error_message = "The topic must deliver SNS envelopes to the reindex queue."
  }
  assert {
    condition = jsondecode(aws_sqs_queue_policy.reindex.policy).Statement == [{
      Sid       = "AllowTheTopicOnly"
      Effect    = "Allow"
      Principal = { Service = "sns.amazonaws.com" }
      Action    = "sqs:SendMessage"
      Resource  = "arn:aws:sqs:us-east-1:123456789012:serverless-pypi-reindex"
      Condition = { ArnEquals = { "aws:SourceArn" = "arn:aws:sns:us-east-1:123456789012:serverless-pypi-events" } }
    }]
    error_message = "Only the bucket's topic may send to the reindex queue."
  }
  assert {
    condition     = [for s in jsondecode(aws_iam_role_policy.reindex.policy).Statement : s.Action if s.Sid == "ConsumeQueue"] == [["sqs:ReceiveMessage", "sqs:DeleteMessage", "sqs:GetQueueAttributes", "sqs:SendMessage", "sqs:ChangeMessageVisibility"]] && [for s in jsondecode(aws_iam_role_policy.reindex.policy).Statement : s.Resource if s.Sid == "ConsumeQueue"] == [["arn:aws:sqs:us-east-1:123456789012:serverless-pypi-reindex"]]
    error_message = "The reindex role may consume (and feed, for a full rebuild) only its own queue."
  }
  assert {
    condition     = length([for s in jsondecode(aws_iam_role_policy.reindex.policy).Statement : s if contains(s.Resource, "*") && anytrue([for a in s.Action : startswith(a, "sqs:")])]) == 0
    error_message = "No SQS permission on every resource."
  }
  assert {
    condition     = aws_lambda_function.reindex.environment[0].variables.SERVERLESS_PYPI_QUEUE_URL == aws_sqs_queue.reindex.url
    error_message = "The reindex function must know its queue (a full rebuild fans out over it)."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.reindex_failures.dimensions.QueueName == "serverless-pypi-reindex-failures" && aws_cloudwatch_metric_alarm.reindex_failures.threshold == 0 && aws_cloudwatch_metric_alarm.reindex_failures.comparison_operator == "GreaterThanThreshold" && length(aws_cloudwatch_metric_alarm.reindex_failures.alarm_actions) == 0
    error_message = "The alarm must watch the failures queue for any message, with no actions by default."
  }
}

run "queue_inputs" {
  command = plan

  variables {
    reindex_batch_size        = 1000
    reindex_batching_window   = 20
    reindex_max_concurrency   = 3
    reindex_max_receive_count = 2
    reindex_timeout           = 900
    alarm_actions             = ["arn:aws:sns:us-east-1:123456789012:ops"]
    kms_key_arn               = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = aws_lambda_event_source_mapping.reindex.batch_size == 1000 && aws_lambda_event_source_mapping.reindex.maximum_batching_window_in_seconds == 20 && aws_lambda_event_source_mapping.reindex.scaling_config[0].maximum_concurrency == 3
    error_message = "Batch size, window and maximum concurrency must follow their inputs."
  }
  assert {
    condition     = jsondecode(aws_sqs_queue.reindex.redrive_policy).maxReceiveCount == 2 && aws_sqs_queue.reindex.visibility_timeout_seconds == 5400
    error_message = "reindex_max_receive_count and reindex_timeout must shape the queue."
  }
  assert {
    condition     = aws_sqs_queue.reindex.kms_master_key_id == var.kms_key_arn && aws_sqs_queue.reindex.sqs_managed_sse_enabled != true
    error_message = "With kms_key_arn the queue must be encrypted with that key."
  }
  assert {
    condition     = aws_cloudwatch_metric_alarm.reindex_failures.alarm_actions == toset(["arn:aws:sns:us-east-1:123456789012:ops"])
    error_message = "The alarm must notify alarm_actions."
  }
}

run "concurrency_follows_a_smaller_reserved_concurrency" {
  command = plan

  variables {
    reindex_reserved_concurrency = 3
  }

  assert {
    condition     = aws_lambda_event_source_mapping.reindex.scaling_config[0].maximum_concurrency == 3
    error_message = "Without reindex_max_concurrency, batches must not outnumber the reserved concurrency."
  }
}

run "large_batches_need_a_window" {
  command = plan

  variables {
    reindex_batch_size      = 50
    reindex_batching_window = 0
  }

  expect_failures = [aws_lambda_event_source_mapping.reindex]
}

run "concurrency_has_the_sqs_range" {
  command = plan

  variables {
    reindex_max_concurrency = 1
  }

  expect_failures = [var.reindex_max_concurrency]
}

run "batch_size_is_bounded" {
  command = plan

  variables {
    reindex_batch_size = 10001
  }

  expect_failures = [var.reindex_batch_size]
}

run "concurrency_fits_the_reserved_concurrency" {
  command = plan

  variables {
    reindex_reserved_concurrency = 4
    reindex_max_concurrency      = 5
  }

  expect_failures = [aws_lambda_event_source_mapping.reindex]
}

run "web_image_hosts" {
  command = plan

  variables {
    web_image_hosts = ["img.shields.io", "badgen.net"]
  }

  assert {
    condition     = aws_lambda_function.reindex.environment[0].variables.SERVERLESS_PYPI_WEB_IMAGE_HOSTS == "img.shields.io,badgen.net"
    error_message = "The allowed image hosts reach the reindex function, which renders the pages."
  }
}

run "rejects_bad_web_image_hosts" {
  command = plan

  variables {
    web_image_hosts = ["https://img.shields.io"]
  }
  expect_failures = [var.web_image_hosts]
}
