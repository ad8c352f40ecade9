# Inputs. Every variable has a type, a description and, where a wrong value would only fail at
# apply time or later, a validation. docs/terraform.md lists them (a test keeps it in step).

# --- The user's HTTP API -------------------------------------------------------------------------

variable "api_id" {
  type        = string
  description = "ID of the API Gateway v2 HTTP API to add the index routes to."

  validation {
    condition     = can(regex("^[a-z0-9]{1,32}$", var.api_id))
    error_message = "api_id must be an API Gateway v2 API ID (lowercase letters and digits)."
  }
}

variable "api_execution_arn" {
  type        = string
  description = "Execution ARN of that API (aws_apigatewayv2_api.execution_arn); scopes the Lambda permission."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[0-9]{12}:[a-z0-9]+$", var.api_execution_arn))
    error_message = "api_execution_arn must look like arn:aws:execute-api:REGION:ACCOUNT:API_ID."
  }
}

variable "api_endpoint" {
  type        = string
  description = "Base URL the API is served at, including the stage path unless it is $default (e.g. aws_apigatewayv2_stage.invoke_url); used for the index_url and upload_url outputs."

  validation {
    condition     = can(regex("^https://[^/\\s]+(/[^\\s]*)?$", var.api_endpoint))
    error_message = "api_endpoint must be an https:// URL."
  }
}

variable "authorization_type" {
  type        = string
  description = "Authorization applied to every route: NONE, JWT, CUSTOM (Lambda authorizer) or AWS_IAM."
  default     = "NONE"

  validation {
    condition     = contains(["NONE", "JWT", "CUSTOM", "AWS_IAM"], var.authorization_type)
    error_message = "authorization_type must be one of NONE, JWT, CUSTOM, AWS_IAM."
  }
}

variable "authorizer_id" {
  type        = string
  description = "ID of the API's authorizer, required when authorization_type is JWT or CUSTOM."
  default     = null

  validation {
    condition     = var.authorizer_id == null || can(regex("^[a-z0-9]+$", var.authorizer_id))
    error_message = "authorizer_id must be an API Gateway authorizer ID (lowercase letters and digits)."
  }
}

variable "authorization_scopes" {
  type        = list(string)
  description = "OAuth scopes a JWT authorizer requires on every route (empty: none)."
  default     = []
  nullable    = false
}

# --- Bucket --------------------------------------------------------------------------------------

variable "create_bucket" {
  type        = bool
  description = "Create and harden the bucket. false: use the existing bucket bucket_name (its hardening is then yours; the module still owns its notification configuration)."
  default     = true
  nullable    = false
}

variable "bucket_name" {
  type        = string
  description = "Name of the bucket to create or use. null (only with create_bucket): a unique name starting with var.name."
  default     = null

  validation {
    # No dots: virtual-hosted-style HTTPS (and so presigned URLs) breaks on dotted names.
    condition = var.bucket_name == null || alltrue([
      can(regex("^[a-z0-9][a-z0-9-]{1,61}[a-z0-9]$", var.bucket_name)),
      !startswith(coalesce(var.bucket_name, "-"), "xn--"),
      !endswith(coalesce(var.bucket_name, "-"), "-s3alias"),
      !endswith(coalesce(var.bucket_name, "-"), "--ol-s3"),
    ])
    error_message = "bucket_name must be 3-63 characters of lowercase letters, digits and hyphens, start and end with a letter or digit, contain no dots, and not start with xn-- or end with -s3alias or --ol-s3."
  }
}

variable "force_destroy" {
  type        = bool
  description = "Let terraform destroy the bucket even when it still holds packages."
  default     = false
  nullable    = false
}

variable "noncurrent_version_expiration_days" {
  type        = number
  description = "Days after which overwritten or deleted (pruned) object versions are removed for good; null (the default) keeps them, so every deleted file stays restorable."
  default     = null

  validation {
    condition     = var.noncurrent_version_expiration_days == null || try(var.noncurrent_version_expiration_days >= 1 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days, false)
    error_message = "noncurrent_version_expiration_days must be null or a whole number of days, at least 1."
  }
}

variable "abort_incomplete_multipart_upload_days" {
  type        = number
  description = "Days after which unfinished multipart uploads are aborted."
  default     = 7
  nullable    = false

  validation {
    condition     = var.abort_incomplete_multipart_upload_days >= 1 && floor(var.abort_incomplete_multipart_upload_days) == var.abort_incomplete_multipart_upload_days
    error_message = "abort_incomplete_multipart_upload_days must be a whole number of days, at least 1."
  }
}

variable "index_admin_role_arns" {
  type        = list(string)
  description = "IAM roles that may write and delete under .index/ besides the reindex function's (e.g. whoever runs serverless-pypi reindex); the bucket policy denies every other principal. Role ARNs; * and ? match as in ArnLike. Applied only when the module creates the bucket (see the index_write_deny_statement output)."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for arn in var.index_admin_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/[A-Za-z0-9+=,.@_/*?-]+$", arn))])
    error_message = "index_admin_role_arns must be IAM role ARNs (arn:aws:iam::ACCOUNT:role/[PATH/]NAME); for an assumed-role session give its role's ARN, not the sts assumed-role ARN."
  }
}

# --- Index behaviour -----------------------------------------------------------------------------

variable "url_ttl" {
  type        = number
  description = "Lifetime in seconds of the presigned S3 URLs that downloads redirect to."
  default     = 900
  nullable    = false

  validation {
    condition     = var.url_ttl >= 10 && var.url_ttl <= 604800 && floor(var.url_ttl) == var.url_ttl
    error_message = "url_ttl must be a whole number of seconds between 10 and 604800 (SigV4's limit, 7 days)."
  }
}

variable "fallback_index_url" {
  type        = string
  description = "Index to redirect to for projects that do not exist here (e.g. https://pypi.org/simple/); null or empty: none."
  default     = null

  validation {
    condition     = var.fallback_index_url == null || can(regex("^(https?://[^/\\s]+(/[^\\s]*)?)?$", var.fallback_index_url))
    error_message = "fallback_index_url must be an http(s) URL, empty or null."
  }
}

variable "uploads" {
  type        = string
  description = "twine uploads through the API: off, authenticated (needs an authorizer) or unauthenticated-insecure."
  default     = "off"
  nullable    = false

  validation {
    condition     = contains(["off", "authenticated", "unauthenticated-insecure"], var.uploads)
    error_message = "uploads must be one of off, authenticated, unauthenticated-insecure."
  }
}

variable "log_level" {
  type        = string
  description = "Log level of both functions: DEBUG, INFO, WARNING or ERROR."
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR."
  }
}

# --- Lambda --------------------------------------------------------------------------------------

variable "name" {
  type        = string
  description = "Prefix of every resource name (functions are NAME-api and NAME-reindex)."
  default     = "serverless-pypi"
  nullable    = false

  validation {
    # Leaves room for the longest suffix in a 64-character function or role name.
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,37}$", var.name))
    error_message = "name must be 1-38 characters of lowercase letters, digits and hyphens, starting with a letter or digit."
  }
}

variable "runtime" {
  type        = string
  description = "Lambda Python runtime of both functions and the layer."
  default     = "python3.13"
  nullable    = false

  validation {
    condition     = can(regex("^python3\\.(1[1-9]|[2-9][0-9])$", var.runtime))
    error_message = "runtime must be a Lambda Python runtime, python3.11 or newer."
  }
}

variable "architecture" {
  type        = string
  description = "Lambda architecture; the layer is built for it: arm64 or x86_64."
  default     = "arm64"
  nullable    = false

  validation {
    condition     = contains(["arm64", "x86_64"], var.architecture)
    error_message = "architecture must be arm64 or x86_64."
  }
}

variable "api_memory_size" {
  type        = number
  description = "Memory of the API function in MB (CPU scales with it)."
  default     = 512
  nullable    = false

  validation {
    condition     = var.api_memory_size >= 128 && var.api_memory_size <= 10240 && floor(var.api_memory_size) == var.api_memory_size
    error_message = "api_memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "api_timeout" {
  type        = number
  description = "Timeout of the API function in seconds; an HTTP API gives up after 30."
  default     = 15
  nullable    = false

  validation {
    condition     = var.api_timeout >= 1 && var.api_timeout <= 30 && floor(var.api_timeout) == var.api_timeout
    error_message = "api_timeout must be a whole number of seconds between 1 and 30 (the HTTP API integration limit)."
  }
}

variable "reindex_memory_size" {
  type        = number
  description = "Memory of the reindex function in MB."
  default     = 512
  nullable    = false

  validation {
    condition     = var.reindex_memory_size >= 128 && var.reindex_memory_size <= 10240 && floor(var.reindex_memory_size) == var.reindex_memory_size
    error_message = "reindex_memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "reindex_timeout" {
  type        = number
  description = "Timeout of the reindex function in seconds."
  default     = 120
  nullable    = false

  validation {
    condition     = var.reindex_timeout >= 1 && var.reindex_timeout <= 900 && floor(var.reindex_timeout) == var.reindex_timeout
    error_message = "reindex_timeout must be a whole number of seconds between 1 and 900."
  }
}

variable "reindex_reserved_concurrency" {
  type        = number
  description = "Reserved concurrency of the reindex function (caps parallel reindexing); null: unreserved."
  default     = null

  validation {
    condition     = var.reindex_reserved_concurrency == null || try(var.reindex_reserved_concurrency >= 1 && floor(var.reindex_reserved_concurrency) == var.reindex_reserved_concurrency, false)
    error_message = "reindex_reserved_concurrency must be null or a whole number, at least 1."
  }
}

variable "layer_requirements" {
  type        = list(string)
  description = "pip requirements of the dependency layer; null: the pinned set in src/lambda_build.py."
  default     = null

  validation {
    condition     = var.layer_requirements == null || try(length(var.layer_requirements) > 0, false)
    error_message = "layer_requirements must be null or a non-empty list."
  }
}

variable "build_dir" {
  type        = string
  description = "Folder the zips are built into at apply time; null: build/ in the module's folder (where make package puts them)."
  default     = null
}

# --- Operations ----------------------------------------------------------------------------------

variable "log_retention_days" {
  type        = number
  description = "Retention of both functions' CloudWatch log groups, in days (a value CloudWatch accepts; never infinite)."
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "tracing" {
  type        = bool
  description = "Turn on AWS X-Ray active tracing for both functions."
  default     = false
  nullable    = false
}

variable "kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key for the bucket, topic, queue, logs and environment; null: AWS-owned keys. Its policy must admit S3 (to publish to the topic) and CloudWatch Logs."
  default     = null

  validation {
    condition     = var.kms_key_arn == null || can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/[a-zA-Z0-9-]+$", var.kms_key_arn))
    error_message = "kms_key_arn must be a KMS key ARN (arn:aws:kms:REGION:ACCOUNT:key/ID), not an alias."
  }
}

variable "tags" {
  type        = map(string)
  description = "Tags added to every resource the module creates."
  default     = {}
  nullable    = false
}
