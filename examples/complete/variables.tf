variable "region" {
  type        = string
  description = "AWS region to deploy to."
  default     = "us-east-1"
}

variable "name" {
  type        = string
  description = "Prefix of every resource name."
  default     = "acme-pypi"
}

variable "bucket_name" {
  type        = string
  description = "Bucket for the distributions; null: a generated name starting with var.name."
  default     = null
}

variable "index_admin_role_arns" {
  type        = list(string)
  description = "Roles that may write .index/ besides the reindex function (e.g. whoever runs serverless-pypi reindex)."
  default     = []
}

variable "deletion_protection" {
  type        = bool
  description = "Protect the user pool (and its users) from deletion; set to false before terraform destroy."
  default     = true
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default = {
    project = "serverless-pypi"
    owner   = "platform-team"
  }
}
