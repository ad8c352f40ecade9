# Deterministic zips of the function code and the dependency layer, built at apply time by
# src/lambda_build.py (stdlib Python; `make package` runs the same builder). The hashes come from
# the sources, so `plan` works before anything is built and stays empty after apply.
#
# If state exists but the build folder was deleted, run `make package` (or the builder with the
# same arguments) before applying a change: terraform only rebuilds when the sources change.

locals {
  builder     = "${path.module}/src/lambda_build.py"
  package_dir = "${path.module}/src/serverless_pypi"
  build_dir   = coalesce(var.build_dir, "${path.module}/build")

  python_version = trimprefix(var.runtime, "python")

  function_files = sort([
    for f in fileset(local.package_dir, "**") : f
    if !strcontains(f, "__pycache__") && !endswith(f, ".pyc")
  ])
  builder_sha256 = filesha256(local.builder)

  # Same sources and builder -> same zip, so these stand in for the zips' own hashes.
  function_hash = base64sha256(join("\n", concat(
    [local.builder_sha256],
    [for f in local.function_files : "${f} ${filesha256("${local.package_dir}/${f}")}"],
  )))
  layer_hash = base64sha256(jsonencode({
    builder      = local.builder_sha256
    requirements = var.layer_requirements
    python       = local.python_version
    arch         = var.architecture
  }))

  function_zip = "${local.build_dir}/function.zip"
  # Default names match `python3 src/lambda_build.py --out build`; custom requirements get their own.
  layer_zip = "${local.build_dir}/layer-py${local.python_version}-${var.architecture}${var.layer_requirements == null ? "" : "-${substr(sha256(jsonencode(var.layer_requirements)), 0, 12)}"}.zip"

  # Passed as an argument list (no shell): paths may contain spaces.
  build_command = concat(
    ["python3", local.builder, "--function-zip", local.function_zip, "--layer-zip", local.layer_zip],
    ["--arch", var.architecture],
    flatten([for r in coalesce(var.layer_requirements, []) : ["--requirement", r]]),
  )
}

resource "terraform_data" "build" {
  triggers_replace = {
    function = local.function_hash
    layer    = local.layer_hash
  }

  provisioner "local-exec" {
    interpreter = local.build_command
    command     = "--python-version=${local.python_version}"
  }
}

resource "aws_lambda_layer_version" "dependencies" {
  layer_name               = "${var.name}-dependencies"
  description              = "serverless-pypi dependencies for ${var.runtime} on ${var.architecture}"
  filename                 = local.layer_zip
  source_code_hash         = local.layer_hash
  compatible_runtimes      = [var.runtime]
  compatible_architectures = [var.architecture]

  depends_on = [terraform_data.build]

  lifecycle {
    create_before_destroy = true
  }
}
