output "authorization_type" {
  description = "Give to the root module's authorization_type: CUSTOM (a Lambda authorizer that passes its verdict)."
  value       = "CUSTOM"
}

output "authorizer_id" {
  description = "Give to the root module's authorizer_id: the API Gateway authorizer's ID."
  value       = aws_apigatewayv2_authorizer.basic.id
}

output "user_pool_id" {
  description = "ID of the Cognito user pool holding the index's users (serverless-pypi users --user-pool-id)."
  value       = aws_cognito_user_pool.this.id
}

output "user_pool_arn" {
  description = "ARN of the user pool."
  value       = aws_cognito_user_pool.this.arn
}

output "client_id" {
  description = "ID of the app client the authorizer signs users in with (USER_PASSWORD_AUTH, no secret)."
  value       = aws_cognito_user_pool_client.authorizer.id
}

output "uploaders_group_name" {
  description = "Name of the group whose members may upload."
  value       = aws_cognito_user_group.uploaders.name
}

output "authorizer_function_name" {
  description = "Name of the authorizer Lambda function."
  value       = aws_lambda_function.authorizer.function_name
}

output "authorizer_function_arn" {
  description = "ARN of the authorizer Lambda function."
  value       = aws_lambda_function.authorizer.arn
}

output "authorizer_role_arn" {
  description = "ARN of the authorizer function's IAM role."
  value       = aws_iam_role.authorizer.arn
}
