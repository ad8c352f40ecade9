output "index_url" {
  description = "The simple index URL to give pip (--index-url) and uv."
  value       = "${local.base_url}/simple/"
}

output "upload_url" {
  description = "The twine repository URL; null when uploads are off."
  value       = local.uploads_enabled ? "${local.base_url}/legacy/" : null
}

output "bucket_name" {
  description = "Name of the bucket holding the distributions (key: project/file)."
  value       = local.bucket_name
}

output "bucket_arn" {
  description = "ARN of the bucket."
  value       = local.bucket_arn
}

output "index_write_deny_statement" {
  description = "The bucket policy statement denying writes under .index/ to every principal but the reindex role and index_admin_role_arns. In the module's bucket policy when it creates the bucket; with create_bucket = false add it to your bucket's policy yourself."
  value       = local.index_write_deny_statement
}

output "upstream_write_deny_statement" {
  description = "With upstream_index_url: the bucket policy statement denying writes under .upstream/ to every principal but the API, the upstream copy function and index_admin_role_arns (null without the proxy). In the module's bucket policy when it creates the bucket; with create_bucket = false add it to your bucket's policy beside index_write_deny_statement."
  value       = local.upstream_enabled ? local.upstream_write_deny_statement : null
}

output "topic_arn" {
  description = "ARN of the SNS topic that receives the bucket's object created and removed events."
  value       = aws_sns_topic.events.arn
}

output "api_function_name" {
  description = "Name of the API Lambda function."
  value       = aws_lambda_function.api.function_name
}

output "api_function_arn" {
  description = "ARN of the API Lambda function."
  value       = aws_lambda_function.api.arn
}

output "reindex_function_name" {
  description = "Name of the reindex Lambda function."
  value       = aws_lambda_function.reindex.function_name
}

output "reindex_function_arn" {
  description = "ARN of the reindex Lambda function."
  value       = aws_lambda_function.reindex.arn
}

output "upstream_copy_function_name" {
  description = "Name of the function that copies upstream files into the bucket; null when upstream_index_url is not set."
  value       = local.upstream_enabled ? aws_lambda_function.upstream_copy[0].function_name : null
}

output "api_role_arn" {
  description = "ARN of the API function's IAM role."
  value       = aws_iam_role.api.arn
}

output "reindex_role_arn" {
  description = "ARN of the reindex function's IAM role."
  value       = aws_iam_role.reindex.arn
}

output "reindex_queue_url" {
  description = "URL of the queue between the topic and the reindex function."
  value       = aws_sqs_queue.reindex.url
}

output "reindex_failures_queue_url" {
  description = "URL of the SQS queue that receives reindex work that kept failing (queue messages past reindex_max_receive_count, failed asynchronous invocations)."
  value       = aws_sqs_queue.reindex_failures.url
}

output "layer_arn" {
  description = "ARN of the dependency layer version."
  value       = aws_lambda_layer_version.dependencies.arn
}

output "lambda_package" {
  description = "The function zip, its source hash, the dependency layer ARN, runtime and architecture: what modules/cognito's authorizer runs (the same code, built once)."
  # Read from the API function, so that whoever uses this waits until the zip is built.
  value = {
    zip              = aws_lambda_function.api.filename
    source_code_hash = aws_lambda_function.api.source_code_hash
    layer_arn        = aws_lambda_layer_version.dependencies.arn
    runtime          = aws_lambda_function.api.runtime
    architecture     = var.architecture
  }
}
