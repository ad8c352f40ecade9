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
  description = "Deprecated in favour of upstream_index_url. Index to redirect to for projects that do not exist here (e.g. https://pypi.org/simple/); null or empty: none."
  default     = null

  validation {
    condition     = var.fallback_index_url == null || can(regex("^(https?://[^/\\s]+(/[^\\s]*)?)?$", var.fallback_index_url))
    error_message = "fallback_index_url must be an http(s) URL, empty or null."
  }
}

variable "upstream_index_url" {
  type        = string
  description = "Upstream index to proxy and cache for projects with no private file here (e.g. https://pypi.org/simple/); null or empty: off. Needs outbound internet from the functions. Replaces fallback_index_url (set only one)."
  default     = null

  validation {
    condition     = var.upstream_index_url == null || can(regex("^(https?://[^/\\s]+(/[^\\s]*)?)?$", var.upstream_index_url))
    error_message = "upstream_index_url must be an http(s) URL, empty or null."
  }
}

variable "upstream_block" {
  type        = list(string)
  description = "Globs over normalized project names (e.g. acme-*) never taken from the upstream index, even before the first private upload."
  default     = []
  nullable    = false

  validation {
    condition     = length(var.upstream_block) <= 200 && alltrue([for g in var.upstream_block : can(regex("^[A-Za-z0-9*?\\[\\]!._-]{1,200}$", g))])
    error_message = "upstream_block must be at most 200 globs of letters, digits, - _ . and * ? [ ] !."
  }
}

variable "upstream_min_age" {
  type        = string
  description = "Cooldown: upstream files younger than this (e.g. 72h, 7d) are hidden, and files without an upload time; 0: off."
  default     = "0"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{1,9}[smhd]?$", var.upstream_min_age))
    error_message = "upstream_min_age must be a duration such as 90s, 10m, 72h or 7d (0: off)."
  }
}

variable "upstream_page_ttl" {
  type        = string
  description = "How long an upstream page is served from the bucket before the upstream is asked again (e.g. 10m)."
  default     = "10m"
  nullable    = false

  validation {
    condition     = can(regex("^[0-9]{1,9}[smhd]?$", var.upstream_page_ttl))
    error_message = "upstream_page_ttl must be a duration such as 90s, 10m or 1h."
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

variable "reindex_batch_size" {
  type        = number
  description = "Queue messages (S3 events) the reindex function gets at once; a batch costs one document update per project and one root update."
  default     = 100
  nullable    = false

  validation {
    condition     = var.reindex_batch_size >= 1 && var.reindex_batch_size <= 10000 && floor(var.reindex_batch_size) == var.reindex_batch_size
    error_message = "reindex_batch_size must be a whole number between 1 and 10000."
  }
}

variable "reindex_batching_window" {
  type        = number
  description = "Seconds the queue waits to fill a batch before invoking the reindex function (the most a new file waits for it)."
  default     = 1
  nullable    = false

  validation {
    condition     = var.reindex_batching_window >= 0 && var.reindex_batching_window <= 300 && floor(var.reindex_batching_window) == var.reindex_batching_window
    error_message = "reindex_batching_window must be a whole number of seconds between 0 and 300."
  }
}

variable "reindex_max_concurrency" {
  type        = number
  description = "Most batches reindexed at once (the event source mapping's maximum concurrency); each one writes the root index. null: 10, or reindex_reserved_concurrency if that is smaller (at least 2)."
  default     = null

  validation {
    condition     = var.reindex_max_concurrency == null || try(var.reindex_max_concurrency >= 2 && var.reindex_max_concurrency <= 1000 && floor(var.reindex_max_concurrency) == var.reindex_max_concurrency, false)
    error_message = "reindex_max_concurrency must be null or a whole number between 2 and 1000 (the SQS event source's range)."
  }
}

variable "reindex_max_receive_count" {
  type        = number
  description = "Times a queue message is tried before it moves to the reindex failures queue (and raises its alarm)."
  default     = 5
  nullable    = false

  validation {
    condition     = var.reindex_max_receive_count >= 1 && var.reindex_max_receive_count <= 1000 && floor(var.reindex_max_receive_count) == var.reindex_max_receive_count
    error_message = "reindex_max_receive_count must be a whole number between 1 and 1000."
  }
}

variable "web_image_hosts" {
  type        = list(string)
  description = "Hosts whose images (https only) the web pages may show in a project's rendered description, e.g. a badge service; other remote images are dropped, since a private index is often offline and a remote image tells its host who reads the page."
  default     = []
  nullable    = false

  validation {
    condition     = length(var.web_image_hosts) <= 50 && alltrue([for h in var.web_image_hosts : can(regex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?([.][a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$", h))])
    error_message = "web_image_hosts must be at most 50 lowercase host names (no scheme, port or wildcard)."
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

variable "alarm_actions" {
  type        = list(string)
  description = "ARNs (e.g. SNS topics) notified when reindex work lands in the failures queue, and when it is empty again."
  default     = []
  nullable    = false
}

variable "kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key for the bucket, topic, queue, logs and environment; null: AWS-owned keys. Its policy must admit S3 (to publish to the topic), SNS (to send to the reindex queue) and CloudWatch Logs."
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

# --- Trusted publishing and upload rights -------------------------------------------------------

variable "trusted_publishers" {
  type = list(object({
    issuer   = string
    claims   = map(string)
    projects = list(string)
  }))
  description = "CI jobs that may publish without a password (OIDC trusted publishing): issuer (https), claims the token must match exactly (e.g. repository, ref, environment; GitLab: project_path), and the project globs (over normalized names) they may upload to. Non-empty: the module creates the KMS HMAC key for upload tokens and the /_/oidc routes."
  default     = []
  nullable    = false

  validation {
    condition     = alltrue([for p in var.trusted_publishers : can(regex("^https://[^/?#\\s]+(/[^?#\\s]*)?$", p.issuer))])
    error_message = "Every trusted publisher's issuer must be an https URL (e.g. https://token.actions.githubusercontent.com)."
  }
  validation {
    condition     = alltrue([for p in var.trusted_publishers : length(p.claims) > 0 && length(p.projects) > 0])
    error_message = "Every trusted publisher needs at least one claim to match (or any job of the issuer could publish) and at least one project glob."
  }
  validation {
    condition = alltrue(flatten([for p in var.trusted_publishers : concat(
      [for c, v in p.claims : can(regex("^[A-Za-z0-9_:.-]{1,128}$", c)) && !contains(["iss", "aud", "exp", "nbf", "iat"], c) && length(v) > 0],
      [for g in p.projects : can(regex("^[a-z0-9*?\\[\\]!._-]{1,200}$", g))],
    )]))
    error_message = "Claim names must be plain names other than iss, aud, exp, nbf, iat, with non-empty values; project globs are over normalized names (lowercase letters, digits, '-', '.', '_' and * ? [ ] !)."
  }
  validation {
    # Lambda's environment holds 4 KB in all.
    condition     = length(jsonencode(var.trusted_publishers)) <= 2500
    error_message = "trusted_publishers must encode to at most 2500 characters of JSON (Lambda's environment is 4 KB in all): use globs rather than many entries."
  }
}

variable "oidc_audience" {
  type        = string
  description = "Audience CI jobs request their OIDC token for (served at /_/oidc/audience); null: the name input."
  default     = null

  validation {
    condition     = var.oidc_audience == null || can(regex("^[A-Za-z0-9._:/-]{1,128}$", var.oidc_audience))
    error_message = "oidc_audience must be 1-128 characters of letters, digits and . _ : / -."
  }
}

variable "upload_token_ttl" {
  type        = number
  description = "Seconds a minted upload token is valid (60-3600)."
  default     = 900
  nullable    = false

  validation {
    condition     = var.upload_token_ttl >= 60 && var.upload_token_ttl <= 3600 && floor(var.upload_token_ttl) == var.upload_token_ttl
    error_message = "upload_token_ttl must be a whole number of seconds between 60 and 3600."
  }
}

variable "upload_permissions" {
  type        = map(list(string))
  description = "Cognito groups mapped to the project globs their members may upload (e.g. { \"team-a\" = [\"acme-a-*\"] }); the uploaders group may upload every project."
  default     = {}
  nullable    = false

  validation {
    condition = alltrue(flatten([for group, globs in var.upload_permissions : concat(
      [length(group) >= 1 && length(group) <= 128 && length(globs) > 0],
      [for g in globs : can(regex("^[a-z0-9*?\\[\\]!._-]{1,200}$", g))],
    )]))
    error_message = "upload_permissions maps group names (1-128 characters) to non-empty lists of globs over normalized names."
  }
  validation {
    condition     = length(jsonencode(var.upload_permissions)) <= 1000
    error_message = "upload_permissions must encode to at most 1000 characters of JSON (Lambda's environment is 4 KB in all)."
  }
}
