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
    condition     = toset(keys(aws_lambda_function.api.environment[0].variables)) == toset(["SERVERLESS_PYPI_BUCKET", "SERVERLESS_PYPI_URL_TTL", "SERVERLESS_PYPI_FALLBACK_INDEX_URL", "SERVERLESS_PYPI_UPLOADS", "SERVERLESS_PYPI_LOG_LEVEL", "SERVERLESS_PYPI_AUTH"])
    error_message = "The API function's environment must be exactly config.API_ENV_VARS."
  }
  assert {
    condition     = toset(keys(aws_lambda_function.reindex.environment[0].variables)) == toset(["SERVERLESS_PYPI_BUCKET", "SERVERLESS_PYPI_LOG_LEVEL"])
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
    condition     = aws_s3_bucket_lifecycle_configuration.this[0].rule[0].noncurrent_version_expiration[0].noncurrent_days == 30 && aws_s3_bucket_lifecycle_configuration.this[0].rule[0].abort_incomplete_multipart_upload[0].days_after_initiation == 7
    error_message = "Lifecycle must expire noncurrent versions and abort multipart uploads."
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
    condition     = aws_sns_topic_subscription.reindex.protocol == "lambda" && aws_lambda_permission.reindex_from_sns.principal == "sns.amazonaws.com"
    error_message = "The reindex function must be subscribed to the topic and allowed to be invoked by SNS."
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
