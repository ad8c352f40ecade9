output "index_url" {
  description = "pip install --index-url <this> ..."
  value       = module.pypi.index_url
}

output "upload_url" {
  description = "twine upload --repository-url <this> ..."
  value       = module.pypi.upload_url
}

output "bucket_name" {
  description = "Bucket holding the distributions."
  value       = module.pypi.bucket_name
}

output "topic_arn" {
  description = "SNS topic with the bucket's object events."
  value       = module.pypi.topic_arn
}

output "api_id" {
  description = "ID of the HTTP API the index is served from."
  value       = aws_apigatewayv2_api.index.id
}

output "api_function_name" {
  description = "Name of the API function."
  value       = module.pypi.api_function_name
}

output "reindex_function_name" {
  description = "Name of the reindex function."
  value       = module.pypi.reindex_function_name
}

output "api_role_arn" {
  description = "ARN of the API function's role."
  value       = module.pypi.api_role_arn
}

output "reindex_role_arn" {
  description = "ARN of the reindex function's role."
  value       = module.pypi.reindex_role_arn
}

output "reindex_queue_url" {
  description = "SQS queue between the topic and the reindex function."
  value       = module.pypi.reindex_queue_url
}

output "reindex_failures_queue_url" {
  description = "SQS queue of reindex work that kept failing."
  value       = module.pypi.reindex_failures_queue_url
}

output "user_pool_id" {
  description = "Cognito user pool of the index's users (serverless-pypi users --user-pool-id)."
  value       = module.cognito.user_pool_id
}

output "client_id" {
  description = "App client the authorizer signs users in with."
  value       = module.cognito.client_id
}

output "uploaders_group_name" {
  description = "Group whose members may upload."
  value       = module.cognito.uploaders_group_name
}

output "authorizer_id" {
  description = "ID of the API's Basic-auth authorizer."
  value       = module.cognito.authorizer_id
}

output "authorizer_function_name" {
  description = "Name of the authorizer function."
  value       = module.cognito.authorizer_function_name
}
