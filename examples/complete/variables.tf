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

variable "jwt_issuer" {
  type        = string
  description = "Issuer URL of the JWT authorizer, e.g. https://cognito-idp.REGION.amazonaws.com/POOL_ID."
}

variable "jwt_audience" {
  type        = list(string)
  description = "Accepted audiences (client IDs) of the JWT authorizer."
}

variable "tags" {
  type        = map(string)
  description = "Tags for every resource."
  default = {
    project = "serverless-pypi"
    owner   = "platform-team"
  }
}
