# serverless-pypi/modules/cognito: HTTP Basic authentication for the index, backed by a Cognito
# user pool. pip, uv, poetry and twine send `Authorization: Basic base64(user:password)`; a Lambda
# REQUEST authorizer (serverless_pypi.authorizer.handler) signs the user in with Cognito and
# passes its verdict to the API function, which answers 401 with a Basic challenge or 403
# (docs/auth.md explains why the authorizer never denies).
#
# Wire it to the root module:
#   authorization_type = module.cognito.authorization_type
#   authorizer_id      = module.cognito.authorizer_id
#   lambda_package     = module.pypi.lambda_package   (this module's input)

locals {
  function_name = "${var.name}-authorizer"
  tags          = var.tags
}

# --- Users ---------------------------------------------------------------------------------------

resource "aws_cognito_user_pool" "this" {
  name                = "${var.name}-users"
  deletion_protection = var.deletion_protection ? "ACTIVE" : "INACTIVE"
  user_pool_tier      = var.user_pool_tier

  # Only administrators create users (serverless-pypi users add, or the console): an index is
  # not a sign-up page.
  admin_create_user_config {
    allow_admin_create_user_only = true
  }

  password_policy {
    minimum_length                   = var.password_minimum_length
    require_uppercase                = var.password_require_uppercase
    require_lowercase                = var.password_require_lowercase
    require_numbers                  = var.password_require_numbers
    require_symbols                  = var.password_require_symbols
    temporary_password_validity_days = var.temporary_password_validity_days
  }

  # "Alice" and "alice" are one user, as people expect when typing a username into pip.
  username_configuration {
    case_sensitive = false
  }

  # No email or SMS is set up: a forgotten password is reset by an administrator.
  account_recovery_setting {
    recovery_mechanism {
      name     = "admin_only"
      priority = 1
    }
  }

  # Basic auth has no second factor: an MFA challenge would be a failed sign-in.
  mfa_configuration = "OFF"

  user_pool_add_ons {
    advanced_security_mode = var.advanced_security_mode
  }

  tags = local.tags

  lifecycle {
    precondition {
      condition     = var.advanced_security_mode == "OFF" || var.user_pool_tier == "PLUS"
      error_message = "advanced_security_mode AUDIT or ENFORCED needs user_pool_tier = \"PLUS\" (Cognito threat protection is a Plus feature)."
    }
  }
}

# With threat protection ENFORCED, sign-ins with credentials found in public leaks are blocked
# (Cognito answers NotAuthorizedException, the authorizer "unauthenticated"). Adaptive
# account-takeover scoring is not configured: every sign-in comes from the authorizer's own
# address, so Cognito cannot see where the real client is.
resource "aws_cognito_risk_configuration" "this" {
  count        = var.advanced_security_mode == "ENFORCED" ? 1 : 0
  user_pool_id = aws_cognito_user_pool.this.id

  compromised_credentials_risk_configuration {
    event_filter = ["SIGN_IN", "PASSWORD_CHANGE"]
    actions {
      event_action = "BLOCK"
    }
  }
}

# The authorizer's sign-in client: username and password (USER_PASSWORD_AUTH) only, no secret
# (nothing to keep secret in a function anyone could read the environment of), no OAuth.
resource "aws_cognito_user_pool_client" "authorizer" {
  name         = "${var.name}-authorizer"
  user_pool_id = aws_cognito_user_pool.this.id

  generate_secret                      = false
  explicit_auth_flows                  = ["ALLOW_USER_PASSWORD_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"]
  prevent_user_existence_errors        = "ENABLED"
  enable_token_revocation              = true
  allowed_oauth_flows_user_pool_client = false

  # The tokens are only read once, inside the authorizer; keep them short-lived.
  access_token_validity  = 5
  id_token_validity      = 5
  refresh_token_validity = 60
  auth_session_validity  = 3
  token_validity_units {
    access_token  = "minutes"
    id_token      = "minutes"
    refresh_token = "minutes"
  }
}

resource "aws_cognito_user_group" "uploaders" {
  name         = var.uploaders_group_name
  user_pool_id = aws_cognito_user_pool.this.id
  description  = "serverless-pypi: may upload distributions (twine upload); every user may read."
}

# --- The authorizer function ---------------------------------------------------------------------

resource "aws_cloudwatch_log_group" "authorizer" {
  #checkov:skip=CKV_AWS_338:Retention is the log_retention_days input (default 30 days); a year of sign-in logs is the user's choice, not a default.
  name              = "/aws/lambda/${local.function_name}"
  retention_in_days = var.log_retention_days
  kms_key_id        = var.kms_key_arn
  tags              = local.tags
}

resource "aws_iam_role" "authorizer" {
  name        = local.function_name
  description = "serverless-pypi Basic-auth authorizer"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "lambda.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = local.tags
}

# Logs only: cognito-idp:InitiateAuth is an unauthenticated (unsigned) operation that IAM does
# not evaluate, and the uploaders group comes from the ID token it returns, so the role needs no
# Cognito permission at all.
resource "aws_iam_role_policy" "authorizer" {
  name = "serverless-pypi-authorizer"
  role = aws_iam_role.authorizer.id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = concat(
      [{
        Sid      = "WriteOwnLogs"
        Effect   = "Allow"
        Action   = ["logs:CreateLogStream", "logs:PutLogEvents"]
        Resource = ["${aws_cloudwatch_log_group.authorizer.arn}:*"]
      }],
      var.kms_key_arn == null ? [] : [{
        Sid      = "UseKmsKey"
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.kms_key_arn]
      }],
      var.tracing ? [{
        # X-Ray has no resource-level permissions.
        Sid      = "XRay"
        Effect   = "Allow"
        Action   = ["xray:PutTraceSegments", "xray:PutTelemetryRecords"]
        Resource = ["*"]
      }] : [],
    )
  })
}

resource "aws_lambda_function" "authorizer" {
  #checkov:skip=CKV_AWS_117:The function only talks to Cognito's public endpoint; a VPC would add NAT or endpoint costs and cold-start latency to every request for no isolation gain.
  #checkov:skip=CKV_AWS_272:Code signing needs a signing profile the user owns; the zip is built from this repository's sources at apply time by the root module.
  #checkov:skip=CKV_AWS_116:Invoked synchronously by API Gateway; a dead-letter queue only applies to asynchronous invocations.
  #checkov:skip=CKV_AWS_115:The authorizer runs before every request, so its concurrency must follow request volume; reserving it would take from the account pool.
  #checkov:skip=CKV_AWS_50:X-Ray tracing is the tracing input, off by default for cost.
  #checkov:skip=CKV_AWS_173:The environment holds no secrets (pool and client IDs, group name, TTL); kms_key_arn encrypts it with a customer key when set.
  function_name = local.function_name
  description   = "serverless-pypi: HTTP Basic credentials checked against Cognito"
  role          = aws_iam_role.authorizer.arn
  handler       = "serverless_pypi.authorizer.handler"
  runtime       = var.lambda_package.runtime
  architectures = [var.lambda_package.architecture]
  memory_size   = var.memory_size
  timeout       = var.timeout

  # The root module's zip and layer: the same code as the index functions, built once.
  filename         = var.lambda_package.zip
  source_code_hash = var.lambda_package.source_code_hash
  layers           = [var.lambda_package.layer_arn]

  environment {
    variables = {
      SERVERLESS_PYPI_USER_POOL_ID    = aws_cognito_user_pool.this.id
      SERVERLESS_PYPI_CLIENT_ID       = aws_cognito_user_pool_client.authorizer.id
      SERVERLESS_PYPI_UPLOADERS_GROUP = aws_cognito_user_group.uploaders.name
      SERVERLESS_PYPI_AUTH_CACHE_TTL  = tostring(var.auth_cache_ttl)
      SERVERLESS_PYPI_LOG_LEVEL       = var.log_level
    }
  }
  kms_key_arn = var.kms_key_arn

  tracing_config {
    mode = var.tracing ? "Active" : "PassThrough"
  }

  tags       = local.tags
  depends_on = [aws_cloudwatch_log_group.authorizer, aws_iam_role_policy.authorizer]
}

# --- On the API ----------------------------------------------------------------------------------

# A REQUEST authorizer with NO identity source and simple responses (payload 2.0):
# - With an identity source, API Gateway itself answers a request without an Authorization
#   header with 401 and no WWW-Authenticate, so pip never offers its credentials (it looks them
#   up only after a 401 challenge) and browsers never prompt. Without one, every request reaches
#   the authorizer, which never denies (a denial is a bare 403 from API Gateway) but passes its
#   verdict to the API function, which answers 401 with `WWW-Authenticate: Basic` or 403.
# - API Gateway caches authorizer results only by identity source, so caching is off (TTL 0)
#   and must be: the authorizer bounds Cognito calls with its own per-container cache instead
#   (auth_cache_ttl).
resource "aws_apigatewayv2_authorizer" "basic" {
  api_id                            = var.api_id
  name                              = "${var.name}-basic"
  authorizer_type                   = "REQUEST"
  authorizer_uri                    = aws_lambda_function.authorizer.invoke_arn
  authorizer_payload_format_version = "2.0"
  enable_simple_responses           = true
  authorizer_result_ttl_in_seconds  = 0
}

resource "aws_lambda_permission" "authorizer_from_gateway" {
  statement_id  = "AllowInvokeAsAuthorizer"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.authorizer.function_name
  principal     = "apigateway.amazonaws.com"
  # Only as this API's authorizer.
  source_arn = "${var.api_execution_arn}/authorizers/${aws_apigatewayv2_authorizer.basic.id}"
}
