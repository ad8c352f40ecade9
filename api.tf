# Routes on the user's HTTP API, all to one payload-2.0 integration of the API function.
# HTTP API route keys cannot end in "/" (other than "/" itself), so twine's .../legacy/ is served
# by "POST /legacy" plus "POST /legacy/{proxy+}" for the trailing-slash form.

locals {
  read_routes = [
    "GET /", "HEAD /",
    "GET /simple", "HEAD /simple",
    "GET /simple/{proxy+}", "HEAD /simple/{proxy+}",
    "GET /files/{proxy+}", "HEAD /files/{proxy+}",
    "GET /project/{proxy+}", "HEAD /project/{proxy+}",
    "GET /pypi/{proxy+}", "HEAD /pypi/{proxy+}",
  ]
  upload_routes = ["POST /", "POST /legacy", "POST /legacy/{proxy+}"]
  # Trusted publishing's exchange (publishing.tf): audience and mint-token.
  oidc_routes = ["GET /_/oidc/{proxy+}", "POST /_/oidc/{proxy+}"]
  route_keys = toset(concat(
    local.read_routes,
    local.uploads_enabled ? local.upload_routes : [],
    local.trusted_publishing ? local.oidc_routes : [],
  ))

  authorizer_required = contains(["JWT", "CUSTOM"], var.authorization_type)
}

resource "aws_apigatewayv2_integration" "api" {
  api_id                 = var.api_id
  integration_type       = "AWS_PROXY"
  integration_method     = "POST"
  integration_uri        = aws_lambda_function.api.invoke_arn
  payload_format_version = "2.0"
  timeout_milliseconds   = min(var.api_timeout * 1000 + 1000, 30000)

  lifecycle {
    precondition {
      condition     = var.uploads != "authenticated" || var.authorization_type == "CUSTOM"
      error_message = "uploads = \"authenticated\" needs a CUSTOM authorizer that passes its verdict (modules/cognito): set authorization_type = \"CUSTOM\" and authorizer_id, or choose \"unauthenticated-insecure\" knowingly."
    }
    precondition {
      condition     = local.authorizer_required == (var.authorizer_id != null)
      error_message = "authorizer_id must be set exactly when authorization_type is JWT or CUSTOM."
    }
  }
}

resource "aws_apigatewayv2_route" "api" {
  #checkov:skip=CKV_AWS_309:Authorization is the authorization_type input, applied to every route; NONE by default because the API's owner picks the authorizer (JWT, CUSTOM or AWS_IAM).
  for_each = local.route_keys

  api_id               = var.api_id
  route_key            = each.value
  target               = "integrations/${aws_apigatewayv2_integration.api.id}"
  authorization_type   = var.authorization_type
  authorizer_id        = local.authorizer_required ? var.authorizer_id : null
  authorization_scopes = var.authorization_type == "JWT" && length(var.authorization_scopes) > 0 ? var.authorization_scopes : null
}

resource "aws_lambda_permission" "api_from_gateway" {
  statement_id  = "AllowInvokeFromHttpApi"
  action        = "lambda:InvokeFunction"
  function_name = aws_lambda_function.api.function_name
  principal     = "apigateway.amazonaws.com"
  # Any stage of this API, only the routes above.
  source_arn = "${var.api_execution_arn}/*/*"
}
