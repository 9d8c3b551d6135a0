"""Artifact manifests: what builds publish (CI, `output`) and deployments consume (CD, `input`)."""
