# Plan-level assertions for modules/cognito with a mocked AWS provider (no credentials, no network).
# Each run plans the submodule on its own (the `module` block), with the package the root module
# would pass in.

mock_provider "aws" {
  override_during = plan

  mock_resource "aws_cognito_user_pool" {
    defaults = {
      id  = "us-east-1_AbCdEf123"
      arn = "arn:aws:cognito-idp:us-east-1:123456789012:userpool/us-east-1_AbCdEf123"
    }
  }
  mock_resource "aws_cognito_user_pool_client" {
    defaults = { id = "1example23456789abcdefghij" }
  }
  mock_resource "aws_cloudwatch_log_group" {
    defaults = { arn = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/serverless-pypi-authorizer" }
  }
  mock_resource "aws_lambda_function" {
    defaults = {
      arn        = "arn:aws:lambda:us-east-1:123456789012:function:serverless-pypi-authorizer"
      invoke_arn = "arn:aws:apigateway:us-east-1:lambda:path/2015-03-31/functions/arn:aws:lambda:us-east-1:123456789012:function:serverless-pypi-authorizer/invocations"
    }
  }
  mock_resource "aws_iam_role" {
    defaults = { arn = "arn:aws:iam::123456789012:role/serverless-pypi-authorizer" }
  }
  mock_resource "aws_apigatewayv2_authorizer" {
    defaults = { id = "auth42" }
  }
}

variables {
  api_id            = "abc123defg"
  api_execution_arn = "arn:aws:execute-api:us-east-1:123456789012:abc123defg"
  lambda_package = {
    zip              = "build/function.zip"
    source_code_hash = "c29tZS1oYXNo"
    layer_arn        = "arn:aws:lambda:us-east-1:123456789012:layer:serverless-pypi-dependencies:1"
    runtime          = "python3.13"
    architecture     = "arm64"
  }
}

run "cognito_defaults" {
  command = plan

  module {
    source = "./modules/cognito"
  }

  # The authorizer: REQUEST, payload 2.0, simple responses, no identity source, no caching.
  assert {
    condition     = aws_apigatewayv2_authorizer.basic.authorizer_type == "REQUEST" && aws_apigatewayv2_authorizer.basic.authorizer_payload_format_version == "2.0" && aws_apigatewayv2_authorizer.basic.enable_simple_responses == true
    error_message = "The authorizer must be a REQUEST authorizer, payload 2.0, with simple responses."
  }
  assert {
    condition     = length(coalesce(aws_apigatewayv2_authorizer.basic.identity_sources, [])) == 0
    error_message = "No identity source: requests without credentials must reach the authorizer (so the API can answer 401 with a Basic challenge)."
  }
  assert {
    condition     = aws_apigatewayv2_authorizer.basic.authorizer_result_ttl_in_seconds == 0
    error_message = "Gateway caching must be off (it needs an identity source); the authorizer caches itself."
  }
  assert {
    condition     = aws_apigatewayv2_authorizer.basic.authorizer_uri == aws_lambda_function.authorizer.invoke_arn && aws_apigatewayv2_authorizer.basic.api_id == "abc123defg"
    error_message = "The authorizer must invoke the authorizer function, on the given API."
  }
  assert {
    condition     = aws_lambda_permission.authorizer_from_gateway.principal == "apigateway.amazonaws.com" && aws_lambda_permission.authorizer_from_gateway.source_arn == "arn:aws:execute-api:us-east-1:123456789012:abc123defg/authorizers/auth42"
    error_message = "Only this API, as this authorizer, may invoke the function."
  }
  assert {
    condition     = output.authorization_type == "CUSTOM" && output.authorizer_id == "auth42"
    error_message = "The outputs for the root module must be CUSTOM and the authorizer's ID."
  }

  # The app client: username and password, no secret, no user-existence leaks.
  assert {
    condition     = toset(aws_cognito_user_pool_client.authorizer.explicit_auth_flows) == toset(["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"])
    error_message = "The app client must allow exactly USER_PASSWORD_AUTH and refresh tokens."
  }
  assert {
    condition     = aws_cognito_user_pool_client.authorizer.generate_secret == false && aws_cognito_user_pool_client.authorizer.prevent_user_existence_errors == "ENABLED"
    error_message = "The app client must have no secret and prevent user-existence errors."
  }
  assert {
    condition     = aws_cognito_user_group.uploaders.name == "uploaders" && output.uploaders_group_name == "uploaders"
    error_message = "The uploaders group must be called uploaders by default."
  }

  # The pool: admin-created users only, a strong password policy, protected from deletion.
  assert {
    condition     = aws_cognito_user_pool.this.admin_create_user_config[0].allow_admin_create_user_only == true
    error_message = "Only administrators may create users."
  }
  assert {
    condition = aws_cognito_user_pool.this.password_policy[0].minimum_length == 12 && alltrue([
      aws_cognito_user_pool.this.password_policy[0].require_uppercase,
      aws_cognito_user_pool.this.password_policy[0].require_lowercase,
      aws_cognito_user_pool.this.password_policy[0].require_numbers,
      aws_cognito_user_pool.this.password_policy[0].require_symbols,
    ])
    error_message = "Default password policy: at least 12 characters with upper, lower, digits and symbols."
  }
  assert {
    condition     = aws_cognito_user_pool.this.deletion_protection == "ACTIVE" && aws_cognito_user_pool.this.mfa_configuration == "OFF"
    error_message = "The pool must be deletion-protected by default, and have no MFA (Basic auth cannot answer it)."
  }
  assert {
    condition     = aws_cognito_user_pool.this.user_pool_add_ons[0].advanced_security_mode == "OFF" && length(aws_cognito_risk_configuration.this) == 0
    error_message = "Threat protection (a paid Plus feature) is off by default."
  }

  # The function: the authorizer handler, the root's zip and layer, exactly its environment.
  assert {
    condition     = aws_lambda_function.authorizer.handler == "serverless_pypi.authorizer.handler" && aws_lambda_function.authorizer.function_name == "serverless-pypi-authorizer"
    error_message = "The function must run serverless_pypi.authorizer.handler."
  }
  assert {
    condition     = aws_lambda_function.authorizer.filename == "build/function.zip" && aws_lambda_function.authorizer.source_code_hash == "c29tZS1oYXNo" && aws_lambda_function.authorizer.layers == tolist(["arn:aws:lambda:us-east-1:123456789012:layer:serverless-pypi-dependencies:1"])
    error_message = "The function must run the root module's zip and layer."
  }
  assert {
    condition     = aws_lambda_function.authorizer.runtime == "python3.13" && aws_lambda_function.authorizer.architectures == tolist(["arm64"]) && aws_lambda_function.authorizer.timeout == 10
    error_message = "Runtime and architecture come from the package; the timeout is within API Gateway's 10 s."
  }
  assert {
    condition = aws_lambda_function.authorizer.environment[0].variables == tomap({
      SERVERLESS_PYPI_USER_POOL_ID    = "us-east-1_AbCdEf123"
      SERVERLESS_PYPI_CLIENT_ID       = "1example23456789abcdefghij"
      SERVERLESS_PYPI_UPLOADERS_GROUP = "uploaders"
      SERVERLESS_PYPI_AUTH_CACHE_TTL  = "300"
      SERVERLESS_PYPI_LOG_LEVEL       = "INFO"
    })
    error_message = "The authorizer's environment must be exactly config.AUTHORIZER_ENV_VARS with the default values."
  }
  assert {
    condition     = aws_cloudwatch_log_group.authorizer.retention_in_days == 30 && aws_cloudwatch_log_group.authorizer.name == "/aws/lambda/serverless-pypi-authorizer"
    error_message = "The authorizer's log group must have a finite retention."
  }

  # IAM: its own logs, nothing else (InitiateAuth is unsigned; groups come from the ID token).
  assert {
    condition = jsondecode(aws_iam_role_policy.authorizer.policy).Statement == [{
      Sid      = "WriteOwnLogs"
      Effect   = "Allow"
      Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
      Resource = ["arn:aws:logs:us-east-1:123456789012:log-group:/aws/lambda/serverless-pypi-authorizer:*"]
    }]
    error_message = "The authorizer role may only write its own logs."
  }
}

run "cognito_options" {
  command = plan

  module {
    source = "./modules/cognito"
  }

  variables {
    name                    = "acme"
    uploaders_group_name    = "publishers"
    auth_cache_ttl          = 0
    password_minimum_length = 16
    deletion_protection     = false
    user_pool_tier          = "PLUS"
    advanced_security_mode  = "ENFORCED"
    tracing                 = true
    kms_key_arn             = "arn:aws:kms:us-east-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab"
  }

  assert {
    condition     = aws_lambda_function.authorizer.environment[0].variables["SERVERLESS_PYPI_UPLOADERS_GROUP"] == "publishers" && aws_lambda_function.authorizer.environment[0].variables["SERVERLESS_PYPI_AUTH_CACHE_TTL"] == "0"
    error_message = "Group name and cache TTL must reach the function."
  }
  assert {
    condition     = aws_cognito_user_pool.this.name == "acme-users" && aws_lambda_function.authorizer.function_name == "acme-authorizer" && aws_cognito_user_pool.this.deletion_protection == "INACTIVE"
    error_message = "Names follow var.name; deletion protection can be turned off."
  }
  assert {
    condition     = aws_cognito_user_pool.this.user_pool_add_ons[0].advanced_security_mode == "ENFORCED" && length(aws_cognito_risk_configuration.this) == 1 && aws_cognito_risk_configuration.this[0].compromised_credentials_risk_configuration[0].actions[0].event_action == "BLOCK"
    error_message = "ENFORCED threat protection blocks compromised credentials."
  }
  assert {
    condition     = toset(flatten([for s in jsondecode(aws_iam_role_policy.authorizer.policy).Statement : s.Action])) == toset(["logs:CreateLogStream", "logs:PutLogEvents", "kms:Decrypt", "xray:PutTraceSegments", "xray:PutTelemetryRecords"])
    error_message = "With a KMS key and tracing the role gains exactly kms:Decrypt and X-Ray."
  }
}

run "cognito_threat_protection_needs_plus" {
  command = plan

  module {
    source = "./modules/cognito"
  }

  variables {
    advanced_security_mode = "AUDIT"
  }
  expect_failures = [aws_cognito_user_pool.this]
}

run "cognito_rejects_long_timeout" {
  command = plan

  module {
    source = "./modules/cognito"
  }

  variables {
    timeout        = 30
    auth_cache_ttl = 86400
  }
  expect_failures = [var.timeout, var.auth_cache_ttl]
}

run "cognito_rejects_weak_password_length" {
  command = plan

  module {
    source = "./modules/cognito"
  }

  variables {
    password_minimum_length = 6
  }
  expect_failures = [var.password_minimum_length]
}
