"""CI vendor detection from realistic environment dumps, one per vendor, and the order rules."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from sei_watch.context.ci_env import detect, trigger_chain

SHA = "4f5e6d7c8b9a0f1e2d3c4b5a69788796a5b4c3d2"
OLD = "1a2b3c4d5e6f708192a3b4c5d6e7f8091a2b3c4d"

# (vendor, env dump, expected facts)
CASES: list[tuple[str, dict[str, str], dict[str, str]]] = [
    (
        "jenkins",
        {
            "JENKINS_URL": "https://ci.example.com/",
            "BUILD_ID": "57",
            "BUILD_NUMBER": "57",
            "JOB_NAME": "payments/api/main",
            "JOB_BASE_NAME": "main",
            "BUILD_URL": "https://ci.example.com/job/payments/job/api/job/main/57/",
            "GIT_COMMIT": SHA,
            "BRANCH_NAME": "main",
            "GIT_BRANCH": "origin/main",
            "GIT_PREVIOUS_SUCCESSFUL_COMMIT": OLD,
            "NODE_NAME": "agent-3",
        },
        {
            "job": "payments/api/main",
            "build_number": "57",
            "branch": "main",
            "commit": SHA,
            "before": OLD,
            "server_url": "https://ci.example.com/",
        },
    ),
    (
        "gitlab",
        {
            "GITLAB_CI": "true",
            "CI": "true",
            "CI_PROJECT_PATH": "shop/cart",
            "CI_JOB_NAME": "unit tests",
            "CI_JOB_ID": "812733",
            "CI_PIPELINE_ID": "99121",
            "CI_PIPELINE_IID": "412",
            "CI_COMMIT_SHA": SHA,
            "CI_COMMIT_REF_NAME": "feature/x",
            "CI_COMMIT_BRANCH": "feature/x",
            "CI_COMMIT_BEFORE_SHA": "0" * 40,
            "CI_SERVER_URL": "https://gitlab.example.com",
            "CI_PIPELINE_SOURCE": "push",
            "GITLAB_USER_LOGIN": "jdoe",
            "CI_JOB_STATUS": "success",
            "CI_JOB_URL": "https://gitlab.example.com/shop/cart/-/jobs/812733",
        },
        {
            "job": "shop/cart/unit tests",
            "build_number": "812733",
            "branch": "feature/x",
            "user": "jdoe",
            "trigger": "push",
            "result": "success",
        },
    ),
    (
        "github",
        {
            "GITHUB_ACTIONS": "true",
            "CI": "true",
            "GITHUB_REPOSITORY": "acme/web",
            "GITHUB_WORKFLOW": "CI",
            "GITHUB_JOB": "build",
            "GITHUB_RUN_ID": "6021332211",
            "GITHUB_RUN_NUMBER": "88",
            "GITHUB_RUN_ATTEMPT": "1",
            "GITHUB_SHA": SHA,
            "GITHUB_REF": "refs/pull/42/merge",
            "GITHUB_HEAD_REF": "fix/login",
            "GITHUB_BASE_REF": "main",
            "GITHUB_EVENT_NAME": "pull_request",
            "GITHUB_SERVER_URL": "https://github.com",
            "GITHUB_ACTOR": "octocat",
        },
        {
            "job": "acme/web/CI/build",
            "build_number": "6021332211",
            "branch": "fix/login",
            "target_branch": "main",
            "pr": "42",
            "pr_merge": "true",
            "user": "octocat",
            "build_url": "https://github.com/acme/web/actions/runs/6021332211",
        },
    ),
    (
        "azure",
        {
            "TF_BUILD": "True",
            "BUILD_DEFINITIONNAME": "web-ci",
            "SYSTEM_TEAMPROJECT": "Shop",
            "SYSTEM_JOBDISPLAYNAME": "Build",
            "BUILD_BUILDID": "1204",
            "BUILD_BUILDNUMBER": "20261120.3",
            "BUILD_SOURCEVERSION": SHA,
            "BUILD_SOURCEBRANCH": "refs/heads/main",
            "BUILD_REASON": "IndividualCI",
            "SYSTEM_TEAMFOUNDATIONCOLLECTIONURI": "https://dev.azure.com/acme/",
            "BUILD_REQUESTEDFOREMAIL": "dev@acme.example",
            "AGENT_JOBSTATUS": "Succeeded",
        },
        {
            "job": "Shop/web-ci/Build",
            "build_number": "1204",
            "branch": "main",
            "build_url": "https://dev.azure.com/acme/Shop/_build/results?buildId=1204",
        },
    ),
    (
        "circleci",
        {
            "CIRCLECI": "true",
            "CIRCLE_PROJECT_USERNAME": "acme",
            "CIRCLE_PROJECT_REPONAME": "api",
            "CIRCLE_JOB": "test",
            "CIRCLE_BUILD_NUM": "3312",
            "CIRCLE_SHA1": SHA,
            "CIRCLE_BRANCH": "main",
            "CIRCLE_PULL_REQUEST": "https://github.com/acme/api/pull/77",
            "CIRCLE_USERNAME": "kim",
        },
        {"job": "acme/api/test", "build_number": "3312", "pr": "77", "user": "kim"},
    ),
    (
        "buildkite",
        {
            "BUILDKITE": "true",
            "BUILDKITE_ORGANIZATION_SLUG": "acme",
            "BUILDKITE_PIPELINE_SLUG": "deploy",
            "BUILDKITE_BUILD_NUMBER": "1501",
            "BUILDKITE_BUILD_ID": "0189-aa",
            "BUILDKITE_JOB_ID": "0189-bb",
            "BUILDKITE_BUILD_URL": "https://buildkite.com/acme/deploy/builds/1501",
            "BUILDKITE_COMMIT": SHA,
            "BUILDKITE_BRANCH": "main",
            "BUILDKITE_PULL_REQUEST": "false",
            "BUILDKITE_SOURCE": "ui",
            "BUILDKITE_BUILD_CREATOR_EMAIL": "ops@acme.example",
        },
        {"pipeline": "deploy", "build_number": "1501", "branch": "main", "trigger": "ui"},
    ),
    (
        "teamcity",
        {
            "TEAMCITY_VERSION": "2024.03",
            "TEAMCITY_PROJECT_NAME": "Billing",
            "TEAMCITY_BUILDCONF_NAME": "Nightly",
            "BUILD_NUMBER": "1.4.112",
            "BUILD_VCS_NUMBER": SHA,
            "JENKINS_URL": "https://decoy.example/",
        },
        {"job": "Billing/Nightly", "commit": SHA, "branch": "develop", "build_number": "40112"},
    ),
    (
        "bamboo",
        {
            "bamboo_agentId": "131073",
            "bamboo_planKey": "PROJ-PLAN",
            "bamboo_planName": "Project - Plan",
            "bamboo_buildKey": "PROJ-PLAN-JOB1",
            "bamboo_buildNumber": "219",
            "bamboo_planRepository_1_revision": SHA,
            "bamboo_planRepository_1_branchName": "main",
            "bamboo_buildResultsUrl": "https://bamboo.example.com/browse/PROJ-PLAN-JOB1-219",
        },
        {"job": "PROJ-PLAN-JOB1", "build_number": "219", "branch": "main"},
    ),
    (
        "bitbucket",
        {
            "BITBUCKET_BUILD_NUMBER": "73",
            "BITBUCKET_COMMIT": SHA[:12],
            "BITBUCKET_BRANCH": "main",
            "BITBUCKET_REPO_FULL_NAME": "acme/site",
            "BITBUCKET_PIPELINE_UUID": "{b5}",
            "BITBUCKET_EXIT_CODE": "0",
        },
        {"job": "acme/site", "build_number": "73", "branch": "main", "result": "0"},
    ),
    (
        "travis",
        {
            "TRAVIS": "true",
            "CI": "true",
            "TRAVIS_REPO_SLUG": "acme/lib",
            "TRAVIS_BUILD_NUMBER": "884",
            "TRAVIS_BUILD_ID": "99812",
            "TRAVIS_COMMIT": SHA,
            "TRAVIS_BRANCH": "main",
            "TRAVIS_PULL_REQUEST": "false",
            "TRAVIS_EVENT_TYPE": "cron",
            "TRAVIS_COMMIT_RANGE": f"{OLD}...{SHA}",
        },
        {"build_number": "884", "branch": "main", "before": OLD, "trigger": "cron"},
    ),
    (
        "drone",
        {
            "DRONE": "true",
            "CI": "true",
            "DRONE_REPO": "acme/infra",
            "DRONE_STAGE_NAME": "default",
            "DRONE_BUILD_NUMBER": "41",
            "DRONE_COMMIT_SHA": SHA,
            "DRONE_BRANCH": "main",
            "DRONE_COMMIT_BEFORE": OLD,
            "DRONE_BUILD_EVENT": "push",
            "DRONE_BUILD_STARTED": "1795166043",
            "DRONE_BUILD_LINK": "https://drone.example.com/acme/infra/41",
        },
        {"job": "acme/infra/default", "before": OLD, "start": "1795166043"},
    ),
    (
        "woodpecker",
        {
            "CI": "woodpecker",
            "CI_REPO": "acme/tools",
            "CI_WORKFLOW_NAME": "build",
            "CI_PIPELINE_NUMBER": "17",
            "CI_COMMIT_SHA": SHA,
            "CI_COMMIT_BRANCH": "main",
            "CI_PIPELINE_EVENT": "push",
            "CI_PIPELINE_URL": "https://wp.example/17",
            "CI_COMMIT_REF_NAME": "decoy-generic-reader",
        },
        {"job": "acme/tools/build", "build_number": "17", "branch": "main"},
    ),
    (
        "codebuild",
        {
            "CODEBUILD_BUILD_ID": "web:5b1c",
            "CODEBUILD_PROJECT": "web",
            "CODEBUILD_BUILD_NUMBER": "12",
            "CODEBUILD_RESOLVED_SOURCE_VERSION": SHA,
            "CODEBUILD_WEBHOOK_HEAD_REF": "refs/heads/main",
            "AWS_REGION": "eu-west-1",
            "CODEBUILD_SOURCE_VERSION": "pr/9",
        },
        {"build_number": "12", "branch": "main", "pr": "9"},
    ),
    (
        "cloudbuild",
        {
            "BUILDER_OUTPUT": "/builder/outputs",
            "PROJECT_ID": "acme-prod",
            "BUILD_ID": "f3c1-77",
            "TRIGGER_NAME": "deploy-main",
            "COMMIT_SHA": SHA,
            "BRANCH_NAME": "main",
            "LOCATION": "europe-west1",
        },
        {"job": "acme-prod/deploy-main", "build_id": "f3c1-77", "branch": "main"},
    ),
    (
        "harness",
        {
            "HARNESS_BUILD_ID": "77",
            "HARNESS_PIPELINE_ID": "ci_pipeline",
            "HARNESS_STAGE_ID": "build",
            "HARNESS_EXECUTION_ID": "Xyz-123",
            "DRONE": "true",
            "DRONE_COMMIT_SHA": SHA,
            "DRONE_COMMIT_BRANCH": "main",
            "DRONE_COMMIT_BEFORE": OLD,
            "DRONE_BUILD_NUMBER": "9999",
        },
        {"job": "ci_pipeline/build", "build_number": "77", "before": OLD},
    ),
    (
        "semaphore",
        {
            "SEMAPHORE": "true",
            "SEMAPHORE_PROJECT_NAME": "api",
            "SEMAPHORE_JOB_NAME": "Unit",
            "SEMAPHORE_WORKFLOW_NUMBER": "301",
            "SEMAPHORE_GIT_SHA": SHA,
            "SEMAPHORE_GIT_BRANCH": "main",
            "SEMAPHORE_JOB_RESULT": "passed",
        },
        {"job": "api/Unit", "build_number": "301", "result": "passed"},
    ),
    (
        "appveyor",
        {
            "APPVEYOR": "True",
            "CI": "True",
            "APPVEYOR_PROJECT_SLUG": "lib",
            "APPVEYOR_BUILD_NUMBER": "203",
            "APPVEYOR_REPO_COMMIT": SHA,
            "APPVEYOR_REPO_BRANCH": "main",
            "APPVEYOR_PULL_REQUEST_NUMBER": "5",
        },
        {"build_number": "203", "pr": "5"},
    ),
    (
        "codefresh",
        {
            "CF_BUILD_ID": "65a1b2",
            "CF_PIPELINE_NAME": "acme/web",
            "CF_REVISION": SHA,
            "CF_BRANCH": "main",
            "CF_BUILD_URL": "https://g.codefresh.io/build/65a1b2",
        },
        {"job": "acme/web", "build_id": "65a1b2", "branch": "main"},
    ),
    (
        "buddy",
        {
            "BUDDY_WORKSPACE_ID": "1",
            "BUDDY": "true",
            "BUDDY_PROJECT_NAME": "site",
            "BUDDY_PIPELINE_NAME": "deploy",
            "BUDDY_EXECUTION_ID": "90",
            "BUDDY_EXECUTION_REVISION": SHA,
            "BUDDY_EXECUTION_BRANCH": "main",
        },
        {"job": "site/deploy", "build_number": "90"},
    ),
    (
        "bitrise",
        {
            "BITRISE_IO": "true",
            "BITRISE_APP_TITLE": "ios-app",
            "BITRISE_TRIGGERED_WORKFLOW_ID": "primary",
            "BITRISE_BUILD_NUMBER": "512",
            "BITRISE_GIT_COMMIT": SHA,
            "BITRISE_GIT_BRANCH": "develop",
            "BITRISE_PULL_REQUEST": "false",
        },
        {"job": "ios-app/primary", "build_number": "512", "branch": "develop"},
    ),
    (
        "cirrus",
        {
            "CIRRUS_CI": "true",
            "CIRRUS_REPO_FULL_NAME": "acme/cli",
            "CIRRUS_TASK_NAME": "test",
            "CIRRUS_BUILD_ID": "6231",
            "CIRRUS_TASK_ID": "77",
            "CIRRUS_CHANGE_IN_REPO": SHA,
            "CIRRUS_BRANCH": "main",
            "CIRRUS_PR": "12",
        },
        {"job": "acme/cli/test", "build_number": "6231", "pr": "12"},
    ),
]


@pytest.mark.parametrize(("vendor", "env", "expected"), CASES, ids=[c[0] for c in CASES])
def test_vendor(tmp_path: Path, vendor: str, env: dict[str, str], expected: dict[str, str]) -> None:
    """Each vendor is detected from its own variables and gives the documented facts."""
    env = dict(env)
    if vendor == "teamcity":
        props = tmp_path / "build.properties"
        props.write_text(
            "teamcity.build.branch=refs/heads/develop\nteamcity.build.id=40112\n"
            "teamcity.serverUrl=https\\://tc.example.com\n"
        )
        env["TEAMCITY_BUILD_PROPERTIES_FILE"] = str(props)
    facts = detect(env)
    assert facts.vendor == vendor
    for key, value in expected.items():
        assert facts.values.get(key) == value, (key, facts.values)
    assert all(src.startswith(("env:", "GITHUB_EVENT_PATH")) for src in facts.sources.values())


def test_order_rules() -> None:
    """Harness before Drone, Woodpecker before CI_* readers, TeamCity before Jenkins."""
    assert dict(CASES[14][1]).get("DRONE")
    assert detect(CASES[14][1]).vendor == "harness"
    assert detect(CASES[11][1]).vendor == "woodpecker"
    assert detect({**CASES[6][1]}).vendor == "teamcity"
    assert detect({"TRAVIS": "true", "SHIPPABLE": "true"}).vendor is None


def test_no_ci_and_short_sha_and_false_pr() -> None:
    """Outside CI nothing is found; a 12-char SHA is dropped with a note; "false" is no PR."""
    assert detect({"HOME": "/root"}).vendor is None
    bb = detect(CASES[8][1])
    assert "commit" not in bb.values
    assert any("not a full SHA" in n for n in bb.notes)
    assert "pr" not in detect(CASES[5][1]).values


def test_tag_pipeline_has_no_branch() -> None:
    """A GitLab tag pipeline's ref name is a tag, not a branch."""
    env = {**CASES[1][1], "CI_COMMIT_TAG": "v1.2.0", "CI_COMMIT_REF_NAME": "v1.2.0"}
    env.pop("CI_COMMIT_BRANCH")
    assert "branch" not in detect(env).values


def test_github_event_file(tmp_path: Path) -> None:
    """The push event's `before` and a PR number come from GITHUB_EVENT_PATH."""
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"before": OLD, "pull_request": {"number": 314}}))
    env = {**CASES[2][1], "GITHUB_EVENT_PATH": str(event), "GITHUB_REF": "refs/heads/main"}
    facts = detect(env)
    assert facts.values["before"] == OLD
    assert facts.values["pr"] == "314"
    assert facts.sources["before"] == "GITHUB_EVENT_PATH:before"


def test_sei_overrides_win_with_provenance() -> None:
    """SEI_* variables override any field and say so."""
    facts = detect({**CASES[1][1], "SEI_PIPELINE": "checkout", "SEI_BRANCH": "release/1"})
    assert facts.values["pipeline"] == "checkout"
    assert facts.sources["pipeline"] == "env:SEI_PIPELINE"
    assert facts.values["branch"] == "release/1"


@pytest.mark.parametrize(
    ("trigger", "user", "expected"),
    [
        ("push", "", [{"id": "SCMTrigger", "type": "SCMTriggerCause"}]),
        ("schedule", "", [{"id": "TimerTrigger", "type": "TimerTriggerCause"}]),
        ("web", "jdoe", [{"id": "jdoe", "type": "UserIdCause"}]),
        ("parent_pipeline", "", [{"id": "parent_pipeline", "type": "UpstreamCause"}]),
        ("weird", "", [{"id": "weird", "type": "unknown"}]),
    ],
)
def test_trigger_chain(trigger: str, user: str, expected: list[dict[str, Any]]) -> None:
    """The CI's trigger word becomes the Jenkins plugin's cause types."""
    env = {"GITLAB_CI": "true", "CI_PIPELINE_SOURCE": trigger}
    if user:
        env["GITLAB_USER_LOGIN"] = user
    assert trigger_chain(detect(env)) == expected
