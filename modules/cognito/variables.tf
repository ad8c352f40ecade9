# Inputs. Every variable has a type, a description and, where a wrong value would only fail at
# apply time or later, a validation. README.md lists them (a test keeps it in step).

# --- Wiring --------------------------------------------------------------------------------------

variable "api_id" {
  type        = string
  description = "ID of the API Gateway v2 HTTP API to attach the authorizer to (the one given to the root module)."

  validation {
    condition     = can(regex("^[a-z0-9]{1,32}$", var.api_id))
    error_message = "api_id must be an API Gateway v2 API ID (lowercase letters and digits)."
  }
}

variable "api_execution_arn" {
  type        = string
  description = "Execution ARN of that API (aws_apigatewayv2_api.execution_arn); scopes the authorizer's invoke permission."

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:execute-api:[a-z0-9-]+:[0-9]{12}:[a-z0-9]+$", var.api_execution_arn))
    error_message = "api_execution_arn must look like arn:aws:execute-api:REGION:ACCOUNT:API_ID."
  }
}

variable "lambda_package" {
  type        = object({ zip = string, source_code_hash = string, layer_arn = string, runtime = string, architecture = string })
  description = "The root module's lambda_package output: the authorizer runs the same code zip and layer as the index's functions."
  nullable    = false
}

variable "name" {
  type        = string
  description = "Prefix of every resource name (the pool is NAME-users, the function NAME-authorizer); use the root module's name."
  default     = "serverless-pypi"
  nullable    = false

  validation {
    condition     = can(regex("^[a-z0-9][a-z0-9-]{0,37}$", var.name))
    error_message = "name must be 1-38 characters of lowercase letters, digits and hyphens, starting with a letter or digit."
  }
}

# --- User pool -----------------------------------------------------------------------------------

variable "uploaders_group_name" {
  type        = string
  description = "Cognito group whose members may upload; every other user of the pool may only read."
  default     = "uploaders"
  nullable    = false

  validation {
    condition     = can(regex("^\\S{1,128}$", var.uploaders_group_name))
    error_message = "uploaders_group_name must be 1-128 characters without spaces."
  }
}

variable "password_minimum_length" {
  type        = number
  description = "Minimum password length of the pool's users."
  default     = 12
  nullable    = false

  validation {
    condition     = var.password_minimum_length >= 8 && var.password_minimum_length <= 99 && floor(var.password_minimum_length) == var.password_minimum_length
    error_message = "password_minimum_length must be a whole number between 8 and 99."
  }
}

variable "password_require_uppercase" {
  type        = bool
  description = "Passwords must contain an uppercase letter."
  default     = true
  nullable    = false
}

variable "password_require_lowercase" {
  type        = bool
  description = "Passwords must contain a lowercase letter."
  default     = true
  nullable    = false
}

variable "password_require_numbers" {
  type        = bool
  description = "Passwords must contain a digit."
  default     = true
  nullable    = false
}

variable "password_require_symbols" {
  type        = bool
  description = "Passwords must contain a symbol."
  default     = true
  nullable    = false
}

variable "temporary_password_validity_days" {
  type        = number
  description = "Days a temporary password set by an administrator stays valid."
  default     = 3
  nullable    = false

  validation {
    condition     = var.temporary_password_validity_days >= 1 && var.temporary_password_validity_days <= 365 && floor(var.temporary_password_validity_days) == var.temporary_password_validity_days
    error_message = "temporary_password_validity_days must be a whole number between 1 and 365."
  }
}

variable "user_pool_tier" {
  type        = string
  description = "Cognito feature plan of the pool: LITE, ESSENTIALS or PLUS; null: Cognito's default (ESSENTIALS). Threat protection needs PLUS."
  default     = null

  validation {
    condition     = var.user_pool_tier == null || contains(["LITE", "ESSENTIALS", "PLUS"], coalesce(var.user_pool_tier, "-"))
    error_message = "user_pool_tier must be null, LITE, ESSENTIALS or PLUS."
  }
}

variable "advanced_security_mode" {
  type        = string
  description = "Cognito threat protection for password sign-in: OFF, AUDIT (log risks) or ENFORCED (block sign-ins with compromised credentials). AUDIT and ENFORCED need user_pool_tier = PLUS, which costs more per user."
  default     = "OFF"
  nullable    = false

  validation {
    condition     = contains(["OFF", "AUDIT", "ENFORCED"], var.advanced_security_mode)
    error_message = "advanced_security_mode must be OFF, AUDIT or ENFORCED."
  }
}

variable "deletion_protection" {
  type        = bool
  description = "Refuse to delete the user pool (and its users); turn off before destroying on purpose."
  default     = true
  nullable    = false
}

# --- Authorizer ----------------------------------------------------------------------------------

variable "auth_cache_ttl" {
  type        = number
  description = "Seconds each authorizer container remembers a successful sign-in (failures: at most 30 s); 0: ask Cognito on every request. A password change, removal or group change takes effect within this time."
  default     = 300
  nullable    = false

  validation {
    condition     = var.auth_cache_ttl >= 0 && var.auth_cache_ttl <= 3600 && floor(var.auth_cache_ttl) == var.auth_cache_ttl
    error_message = "auth_cache_ttl must be a whole number of seconds between 0 and 3600."
  }
}

variable "log_level" {
  type        = string
  description = "Log level of the authorizer function: DEBUG, INFO, WARNING or ERROR."
  default     = "INFO"
  nullable    = false

  validation {
    condition     = contains(["DEBUG", "INFO", "WARNING", "ERROR"], var.log_level)
    error_message = "log_level must be one of DEBUG, INFO, WARNING, ERROR."
  }
}

variable "memory_size" {
  type        = number
  description = "Memory of the authorizer function in MB (CPU, and so cold-start time, scales with it)."
  default     = 512
  nullable    = false

  validation {
    condition     = var.memory_size >= 128 && var.memory_size <= 10240 && floor(var.memory_size) == var.memory_size
    error_message = "memory_size must be a whole number of MB between 128 and 10240."
  }
}

variable "timeout" {
  type        = number
  description = "Timeout of the authorizer function in seconds; API Gateway waits at most 10 for an authorizer."
  default     = 10
  nullable    = false

  validation {
    condition     = var.timeout >= 1 && var.timeout <= 10 && floor(var.timeout) == var.timeout
    error_message = "timeout must be a whole number of seconds between 1 and 10."
  }
}

variable "log_retention_days" {
  type        = number
  description = "Retention of the authorizer's CloudWatch log group, in days (a value CloudWatch accepts; never infinite)."
  default     = 30
  nullable    = false

  validation {
    condition     = contains([1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653], var.log_retention_days)
    error_message = "log_retention_days must be one of 1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653."
  }
}

variable "tracing" {
  type        = bool
  description = "Turn on AWS X-Ray active tracing for the authorizer function."
  default     = false
  nullable    = false
}

variable "kms_key_arn" {
  type        = string
  description = "Customer-managed KMS key for the authorizer's logs and environment; null: AWS-owned keys. Its policy must admit CloudWatch Logs."
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
