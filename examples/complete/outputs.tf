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

output "reindex_failures_queue_url" {
  description = "SQS queue of events the reindex function failed on."
  value       = module.pypi.reindex_failures_queue_url
}
