# Trusted publishing and upload rights: plan-level assertions with a mocked AWS provider.
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

variables {
  api_id            = "abc123defg"
  api_execution_arn = "arn:aws:execute-api:us-east-1:123456789012:abc123defg"
  api_endpoint      = "https://abc123defg.execute-api.us-east-1.amazonaws.com/"
  bucket_name       = "test-bucket"
}

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
