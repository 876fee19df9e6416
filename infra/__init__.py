"""The CDK app that deploys Spaces: see infra/README.md and docs/operations.md."""
