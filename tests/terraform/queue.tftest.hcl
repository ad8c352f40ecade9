# Plan-level assertions on the reindex queue (queue.tf) and its inputs, with a mocked provider.
# Run: terraform init -backend=false && terraform test -test-directory=tests/terraform

mock_provider "aws" {
  override_during = plan

  mock_data "aws_caller_identity" {
    defaults = { account_id = "123456789012" }
  }
  mock_resource "aws_s3_bucket" {
    defaults = { id = "test-bucket", arn = "arn:aws:s3:::test-bucket" }
  }
  mock_resource "aws_sns_topic" {
    defaults = { arn = "arn:aws:sns:us-east-1:123456789012:serverless-pypi-events" }
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
