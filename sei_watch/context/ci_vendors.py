"""Where each CI system keeps each fact: the table behind `ci_env` (sources: shared/DESIGN.md §5).

A value spec is an environment variable, or a template `"{A}/x/{B}"` that applies only when
every variable in it is set. The first spec with a value wins. Order of the table matters:
Harness before Drone, Woodpecker before generic CI_* readers, TeamCity before Jenkins.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

__all__ = ["VENDORS", "Vendor"]

Env = Mapping[str, str]


@dataclass(frozen=True, slots=True)
class Vendor:
    name: str
    detect: Callable[[Env], bool]
    specs: Mapping[str, tuple[str, ...]]


def _has(*names: str) -> Callable[[Env], bool]:
    return lambda env: all(env.get(n) for n in names)


VENDORS: tuple[Vendor, ...] = (
    Vendor(
        "harness",
        _has("HARNESS_BUILD_ID"),
        {
            "pipeline": ("HARNESS_PIPELINE_ID",),
            "job": ("{HARNESS_PIPELINE_ID}/{HARNESS_STAGE_ID}", "HARNESS_PIPELINE_ID"),
            "build_number": ("HARNESS_BUILD_ID",),
            "build_id": ("HARNESS_EXECUTION_ID",),
            "build_url": ("CI_BUILD_LINK",),
            "commit": ("DRONE_COMMIT_SHA",),
            "branch": ("DRONE_SOURCE_BRANCH", "DRONE_COMMIT_BRANCH"),
            "target_branch": ("DRONE_TARGET_BRANCH",),
            "pr": ("DRONE_PULL_REQUEST",),
            "user": ("DRONE_COMMIT_AUTHOR",),
            "trigger": ("DRONE_BUILD_EVENT",),
            "before": ("DRONE_COMMIT_BEFORE",),
            "tag": ("DRONE_TAG",),
        },
    ),
    Vendor(
        "woodpecker",
        lambda env: env.get("CI") == "woodpecker",
        {
            "pipeline": ("CI_REPO",),
            "job": ("{CI_REPO}/{CI_WORKFLOW_NAME}", "CI_REPO"),
            "build_number": ("CI_PIPELINE_NUMBER", "CI_BUILD_NUMBER"),
            "build_url": ("CI_PIPELINE_URL", "CI_BUILD_LINK"),
            "server_url": ("CI_SYSTEM_URL",),
            "commit": ("CI_COMMIT_SHA",),
            "branch": ("CI_COMMIT_SOURCE_BRANCH", "CI_COMMIT_BRANCH"),
            "target_branch": ("CI_COMMIT_TARGET_BRANCH",),
            "pr": ("CI_COMMIT_PULL_REQUEST",),
            "user": ("CI_COMMIT_AUTHOR",),
            "trigger": ("CI_PIPELINE_EVENT",),
            "result": ("CI_PIPELINE_STATUS",),
            "start": ("CI_PIPELINE_STARTED",),
            "before": ("CI_PREV_COMMIT_SHA",),
            "tag": ("CI_COMMIT_TAG",),
        },
    ),
    Vendor(
        "gitlab",
        _has("GITLAB_CI"),
        {
            "pipeline": ("CI_PROJECT_PATH",),
            "job": ("{CI_PROJECT_PATH}/{CI_JOB_NAME}",),
            "build_number": ("CI_JOB_ID",),
            "build_id": ("CI_PIPELINE_ID",),
            "build_url": ("CI_JOB_URL", "CI_PIPELINE_URL"),
            "server_url": ("CI_SERVER_URL",),
            "commit": ("CI_MERGE_REQUEST_SOURCE_BRANCH_SHA", "CI_COMMIT_SHA"),
            "branch": (
                "CI_MERGE_REQUEST_SOURCE_BRANCH_NAME",
                "CI_COMMIT_BRANCH",
                "CI_COMMIT_REF_NAME",
            ),
            "target_branch": ("CI_MERGE_REQUEST_TARGET_BRANCH_NAME",),
            "pr": ("CI_MERGE_REQUEST_IID",),
            "user": ("GITLAB_USER_LOGIN",),
            "trigger": ("CI_PIPELINE_SOURCE",),
            "result": ("CI_JOB_STATUS",),
            "start": ("CI_JOB_STARTED_AT",),
            "before": ("CI_COMMIT_BEFORE_SHA",),
            "merge_base": ("CI_MERGE_REQUEST_DIFF_BASE_SHA",),
            "tag": ("CI_COMMIT_TAG",),
            "stage": ("CI_JOB_STAGE",),
        },
    ),
    Vendor(
        "github",
        _has("GITHUB_ACTIONS"),
        {
            "pipeline": ("{GITHUB_REPOSITORY}/{GITHUB_WORKFLOW}",),
            "job": ("{GITHUB_REPOSITORY}/{GITHUB_WORKFLOW}/{GITHUB_JOB}",),
            "build_number": ("GITHUB_RUN_ID",),
            "build_id": ("GITHUB_RUN_NUMBER",),
            "attempt": ("GITHUB_RUN_ATTEMPT",),
            "build_url": ("{GITHUB_SERVER_URL}/{GITHUB_REPOSITORY}/actions/runs/{GITHUB_RUN_ID}",),
            "server_url": ("GITHUB_SERVER_URL",),
            "commit": ("GITHUB_SHA",),
            "branch": ("GITHUB_HEAD_REF", "GITHUB_REF"),
            "target_branch": ("GITHUB_BASE_REF",),
            "user": ("GITHUB_TRIGGERING_ACTOR", "GITHUB_ACTOR"),
            "trigger": ("GITHUB_EVENT_NAME",),
            "ref": ("GITHUB_REF",),
        },
    ),
    Vendor(
        "azure",
        lambda env: bool(env.get("TF_BUILD") or env.get("BUILD_BUILDURI")),
        {
            "pipeline": ("BUILD_DEFINITIONNAME",),
            "job": (
                "{SYSTEM_TEAMPROJECT}/{BUILD_DEFINITIONNAME}/{SYSTEM_JOBDISPLAYNAME}",
                "{SYSTEM_TEAMPROJECT}/{BUILD_DEFINITIONNAME}",
                "BUILD_DEFINITIONNAME",
            ),
            "build_number": ("BUILD_BUILDID",),
            "attempt": ("SYSTEM_JOBATTEMPT",),
            "build_id": ("BUILD_BUILDNUMBER",),
            "build_url": (
                "{SYSTEM_TEAMFOUNDATIONCOLLECTIONURI}{SYSTEM_TEAMPROJECT}/_build/"
                "results?buildId={BUILD_BUILDID}",
            ),
            "server_url": ("SYSTEM_TEAMFOUNDATIONCOLLECTIONURI",),
            "commit": ("SYSTEM_PULLREQUEST_SOURCECOMMITID", "BUILD_SOURCEVERSION"),
            "branch": ("SYSTEM_PULLREQUEST_SOURCEBRANCH", "BUILD_SOURCEBRANCH"),
            "target_branch": ("SYSTEM_PULLREQUEST_TARGETBRANCH",),
            "pr": ("SYSTEM_PULLREQUEST_PULLREQUESTNUMBER", "SYSTEM_PULLREQUEST_PULLREQUESTID"),
            "user": ("BUILD_REQUESTEDFOREMAIL", "BUILD_REQUESTEDFOR"),
            "trigger": ("BUILD_REASON",),
            "result": ("AGENT_JOBSTATUS",),
            "start": ("SYSTEM_PIPELINESTARTTIME",),
            "stage": ("SYSTEM_STAGEDISPLAYNAME",),
        },
    ),
    Vendor(
        "circleci",
        _has("CIRCLECI"),
        {
            "pipeline": ("{CIRCLE_PROJECT_USERNAME}/{CIRCLE_PROJECT_REPONAME}",),
            "job": (
                "{CIRCLE_PROJECT_USERNAME}/{CIRCLE_PROJECT_REPONAME}/{CIRCLE_JOB}",
                "CIRCLE_JOB",
            ),
            "build_number": ("CIRCLE_BUILD_NUM",),
            "build_id": ("CIRCLE_WORKFLOW_ID",),
            "build_url": ("CIRCLE_BUILD_URL",),
            "commit": ("CIRCLE_SHA1",),
            "branch": ("CIRCLE_BRANCH",),
            "pr": ("CIRCLE_PR_NUMBER", "CIRCLE_PULL_REQUEST"),
            "user": ("CIRCLE_USERNAME",),
            "tag": ("CIRCLE_TAG",),
        },
    ),
    Vendor(
        "buildkite",
        _has("BUILDKITE"),
        {
            "pipeline": ("BUILDKITE_PIPELINE_SLUG",),
            "job": (
                "{BUILDKITE_ORGANIZATION_SLUG}/{BUILDKITE_PIPELINE_SLUG}/{BUILDKITE_STEP_KEY}",
                "{BUILDKITE_ORGANIZATION_SLUG}/{BUILDKITE_PIPELINE_SLUG}",
            ),
            "build_number": ("BUILDKITE_BUILD_NUMBER",),
            "retry_count": ("BUILDKITE_RETRY_COUNT",),
            "build_id": ("BUILDKITE_BUILD_ID",),
            "build_url": ("{BUILDKITE_BUILD_URL}#{BUILDKITE_JOB_ID}", "BUILDKITE_BUILD_URL"),
            "commit": ("BUILDKITE_COMMIT",),
            "branch": ("BUILDKITE_BRANCH",),
            "target_branch": ("BUILDKITE_PULL_REQUEST_BASE_BRANCH",),
            "pr": ("BUILDKITE_PULL_REQUEST",),
            "user": ("BUILDKITE_BUILD_CREATOR_EMAIL", "BUILDKITE_BUILD_CREATOR"),
            "trigger": ("BUILDKITE_SOURCE",),
            "result": ("BUILDKITE_COMMAND_EXIT_STATUS",),
            "tag": ("BUILDKITE_TAG",),
        },
    ),
    Vendor(
        "teamcity",
        _has("TEAMCITY_VERSION"),
        {
            "pipeline": ("TEAMCITY_PROJECT_NAME",),
            "job": ("{TEAMCITY_PROJECT_NAME}/{TEAMCITY_BUILDCONF_NAME}", "TEAMCITY_BUILDCONF_NAME"),
            "build_number": ("teamcity.build.id", "BUILD_NUMBER"),
            "build_id": ("BUILD_NUMBER",),
            "build_url": ("BUILD_URL",),
            "server_url": ("teamcity.serverUrl",),
            "commit": ("BUILD_VCS_NUMBER",),
            "branch": ("teamcity.build.branch",),
            "pr": ("TEAMCITY_PULLREQUEST_NUMBER",),
            "user": ("teamcity.build.triggeredBy.username",),
        },
    ),
    Vendor(
        "jenkins",
        _has("JENKINS_URL"),
        {
            "pipeline": ("JOB_BASE_NAME", "JOB_NAME"),
            "job": ("JOB_NAME",),
            "build_number": ("BUILD_NUMBER",),
            "build_id": ("BUILD_TAG",),
            "build_url": ("BUILD_URL",),
            "server_url": ("JENKINS_URL",),
            "commit": ("ghprbActualCommit", "GIT_COMMIT"),
            "branch": (
                "CHANGE_BRANCH",
                "BRANCH_NAME",
                "GIT_LOCAL_BRANCH",
                "GIT_BRANCH",
                "gitlabBranch",
            ),
            "target_branch": ("CHANGE_TARGET",),
            "pr": ("CHANGE_ID", "ghprbPullId", "gitlabMergeRequestId"),
            "user": ("BUILD_USER_ID", "CHANGE_AUTHOR"),
            "tag": ("TAG_NAME",),
            "before": ("GIT_PREVIOUS_SUCCESSFUL_COMMIT", "GIT_PREVIOUS_COMMIT"),
        },
    ),
    Vendor(
        "bamboo",
        lambda env: bool(env.get("bamboo_agentId") or env.get("bamboo_planKey")),
        {
            "pipeline": ("bamboo_planName", "bamboo_planKey"),
            "job": ("bamboo_buildKey", "bamboo_planKey"),
            "build_number": ("bamboo_buildNumber",),
            "build_url": ("bamboo_buildResultsUrl",),
            "commit": ("bamboo_planRepository_1_revision",),
            "branch": ("bamboo_planRepository_1_branchName",),
            "pr": ("bamboo_repository_pr_key",),
            "user": ("bamboo_ManualBuildTriggerReason_userName",),
        },
    ),
    Vendor(
        "bitbucket",
        lambda env: bool(env.get("BITBUCKET_BUILD_NUMBER") or env.get("BITBUCKET_COMMIT")),
        {
            "pipeline": ("BITBUCKET_REPO_FULL_NAME", "BITBUCKET_REPO_SLUG"),
            "job": ("BITBUCKET_REPO_FULL_NAME",),
            "build_number": ("BITBUCKET_BUILD_NUMBER",),
            "build_id": ("BITBUCKET_PIPELINE_UUID",),
            "build_url": (
                "https://bitbucket.org/{BITBUCKET_REPO_FULL_NAME}/addon/pipelines/home"
                "#!/results/{BITBUCKET_BUILD_NUMBER}",
            ),
            "commit": ("BITBUCKET_COMMIT",),
            "branch": ("BITBUCKET_BRANCH",),
            "target_branch": ("BITBUCKET_PR_DESTINATION_BRANCH",),
            "pr": ("BITBUCKET_PR_ID",),
            "user": ("BITBUCKET_STEP_TRIGGERER_UUID",),
            "result": ("BITBUCKET_EXIT_CODE",),
            "tag": ("BITBUCKET_TAG",),
        },
    ),
    Vendor(
        "travis",
        lambda env: bool(env.get("TRAVIS")) and not env.get("SHIPPABLE"),
        {
            "pipeline": ("TRAVIS_REPO_SLUG",),
            "job": ("{TRAVIS_REPO_SLUG}/{TRAVIS_JOB_NAME}", "TRAVIS_REPO_SLUG"),
            "build_number": ("TRAVIS_BUILD_NUMBER",),
            "build_id": ("TRAVIS_BUILD_ID",),
            "build_url": ("TRAVIS_JOB_WEB_URL", "TRAVIS_BUILD_WEB_URL"),
            "commit": ("TRAVIS_PULL_REQUEST_SHA", "TRAVIS_COMMIT"),
            "branch": ("TRAVIS_PULL_REQUEST_BRANCH", "TRAVIS_BRANCH"),
            "target_branch": ("TRAVIS_BRANCH",),
            "pr": ("TRAVIS_PULL_REQUEST",),
            "trigger": ("TRAVIS_EVENT_TYPE",),
            "result": ("TRAVIS_TEST_RESULT",),
            "range": ("TRAVIS_COMMIT_RANGE",),
            "tag": ("TRAVIS_TAG",),
        },
    ),
    Vendor(
        "drone",
        _has("DRONE"),
        {
            "pipeline": ("DRONE_REPO",),
            "job": ("{DRONE_REPO}/{DRONE_STAGE_NAME}", "DRONE_REPO"),
            "build_number": ("DRONE_BUILD_NUMBER",),
            "build_url": ("DRONE_BUILD_LINK",),
            "server_url": ("DRONE_SYSTEM_HOST",),
            "commit": ("DRONE_COMMIT_SHA",),
            "branch": ("DRONE_SOURCE_BRANCH", "DRONE_BRANCH"),
            "target_branch": ("DRONE_TARGET_BRANCH",),
            "pr": ("DRONE_PULL_REQUEST",),
            "user": ("DRONE_COMMIT_AUTHOR",),
            "trigger": ("DRONE_BUILD_EVENT",),
            "result": ("DRONE_BUILD_STATUS",),
            "start": ("DRONE_BUILD_STARTED",),
            "before": ("DRONE_COMMIT_BEFORE",),
            "tag": ("DRONE_TAG",),
        },
    ),
    Vendor(
        "codebuild",
        lambda env: bool(env.get("CODEBUILD_BUILD_ID") or env.get("CODEBUILD_BUILD_ARN")),
        {
            "pipeline": ("CODEBUILD_PROJECT",),
            "job": ("CODEBUILD_PROJECT",),
            "build_number": ("CODEBUILD_BUILD_NUMBER",),
            "build_id": ("CODEBUILD_BUILD_ID",),
            "build_url": (
                "https://console.aws.amazon.com/codebuild/home?region={AWS_REGION}"
                "#/builds/{CODEBUILD_BUILD_ID}/view/new",
            ),
            "commit": ("CODEBUILD_RESOLVED_SOURCE_VERSION",),
            "branch": ("CODEBUILD_WEBHOOK_HEAD_REF",),
            "target_branch": ("CODEBUILD_WEBHOOK_BASE_REF",),
            "pr": ("CODEBUILD_SOURCE_VERSION",),
            "user": ("CODEBUILD_INITIATOR",),
            "trigger": ("CODEBUILD_WEBHOOK_EVENT",),
            "before": ("CODEBUILD_WEBHOOK_PREV_COMMIT",),
        },
    ),
    Vendor(
        "cloudbuild",
        lambda env: (
            bool(env.get("BUILDER_OUTPUT"))
            or all(env.get(n) for n in ("LOCATION", "PROJECT_NUMBER", "PROJECT_ID", "BUILD_ID"))
        ),
        {
            "pipeline": ("TRIGGER_NAME", "REPO_NAME"),
            "job": ("{PROJECT_ID}/{TRIGGER_NAME}",),
            "build_id": ("BUILD_ID",),
            "build_url": (
                "https://console.cloud.google.com/cloud-build/builds;region={LOCATION}/"
                "{BUILD_ID}?project={PROJECT_ID}",
            ),
            "commit": ("COMMIT_SHA",),
            "branch": ("BRANCH_NAME",),
            "pr": ("_PR_NUMBER",),
            "tag": ("TAG_NAME",),
        },
    ),
    Vendor(
        "semaphore",
        _has("SEMAPHORE"),
        {
            "pipeline": ("SEMAPHORE_PROJECT_NAME",),
            "job": ("{SEMAPHORE_PROJECT_NAME}/{SEMAPHORE_JOB_NAME}", "SEMAPHORE_PROJECT_NAME"),
            "build_number": ("SEMAPHORE_WORKFLOW_NUMBER",),
            "build_id": ("SEMAPHORE_JOB_ID",),
            "build_url": ("{SEMAPHORE_ORGANIZATION_URL}/workflows/{SEMAPHORE_WORKFLOW_ID}",),
            "commit": ("SEMAPHORE_GIT_PR_SHA", "SEMAPHORE_GIT_SHA"),
            "branch": ("SEMAPHORE_GIT_PR_BRANCH", "SEMAPHORE_GIT_BRANCH"),
            "target_branch": ("SEMAPHORE_GIT_BRANCH",),
            "pr": ("SEMAPHORE_GIT_PR_NUMBER",),
            "user": ("SEMAPHORE_GIT_COMMITTER",),
            "result": ("SEMAPHORE_JOB_RESULT",),
            "tag": ("SEMAPHORE_GIT_TAG_NAME",),
        },
    ),
    Vendor(
        "appveyor",
        _has("APPVEYOR"),
        {
            "pipeline": ("APPVEYOR_PROJECT_SLUG", "APPVEYOR_PROJECT_NAME"),
            "job": ("{APPVEYOR_PROJECT_SLUG}/{APPVEYOR_JOB_NAME}", "APPVEYOR_PROJECT_SLUG"),
            "build_number": ("APPVEYOR_BUILD_NUMBER",),
            "build_id": ("APPVEYOR_BUILD_ID",),
            "build_url": (
                "{APPVEYOR_URL}/project/{APPVEYOR_ACCOUNT_NAME}/{APPVEYOR_PROJECT_SLUG}/"
                "builds/{APPVEYOR_BUILD_ID}",
            ),
            "commit": ("APPVEYOR_PULL_REQUEST_HEAD_COMMIT", "APPVEYOR_REPO_COMMIT"),
            "branch": ("APPVEYOR_PULL_REQUEST_HEAD_REPO_BRANCH", "APPVEYOR_REPO_BRANCH"),
            "pr": ("APPVEYOR_PULL_REQUEST_NUMBER",),
            "user": ("APPVEYOR_REPO_COMMIT_AUTHOR",),
            "tag": ("APPVEYOR_REPO_TAG_NAME",),
        },
    ),
    Vendor(
        "codefresh",
        _has("CF_BUILD_ID"),
        {
            "pipeline": ("CF_PIPELINE_NAME",),
            "job": ("CF_PIPELINE_NAME",),
            "build_id": ("CF_BUILD_ID",),
            "build_url": ("CF_BUILD_URL",),
            "commit": ("CF_REVISION",),
            "branch": ("CF_BRANCH",),
            "target_branch": ("CF_PULL_REQUEST_TARGET",),
            "pr": ("CF_PULL_REQUEST_NUMBER", "CF_PULL_REQUEST_ID"),
            "user": ("CF_BUILD_INITIATOR",),
            "trigger": ("CF_BUILD_TRIGGER",),
        },
    ),
    Vendor(
        "buddy",
        lambda env: bool(env.get("BUDDY_WORKSPACE_ID") or env.get("BUDDY")),
        {
            "pipeline": ("BUDDY_PIPELINE_NAME",),
            "job": ("{BUDDY_PROJECT_NAME}/{BUDDY_PIPELINE_NAME}", "BUDDY_PIPELINE_NAME"),
            "build_number": ("BUDDY_EXECUTION_ID",),
            "build_url": ("BUDDY_EXECUTION_URL",),
            "commit": ("BUDDY_EXECUTION_REVISION",),
            "branch": ("BUDDY_EXECUTION_PULL_REQUEST_HEAD_BRANCH", "BUDDY_EXECUTION_BRANCH"),
            "pr": ("BUDDY_EXECUTION_PULL_REQUEST_ID", "BUDDY_RUN_PR_NO"),
            "user": ("BUDDY_INVOKER_NAME",),
            "tag": ("BUDDY_EXECUTION_TAG",),
        },
    ),
    Vendor(
        "bitrise",
        lambda env: bool(env.get("BITRISE_IO") or env.get("BITRISE_BUILD_SLUG")),
        {
            "pipeline": ("BITRISE_APP_TITLE", "BITRISE_TRIGGERED_WORKFLOW_ID"),
            "job": ("{BITRISE_APP_TITLE}/{BITRISE_TRIGGERED_WORKFLOW_ID}",),
            "build_number": ("BITRISE_BUILD_NUMBER",),
            "build_id": ("BITRISE_BUILD_SLUG",),
            "build_url": ("BITRISE_BUILD_URL",),
            "commit": ("BITRISE_GIT_COMMIT", "GIT_CLONE_COMMIT_HASH"),
            "branch": ("BITRISE_GIT_BRANCH",),
            "target_branch": ("BITRISEIO_GIT_BRANCH_DEST",),
            "pr": ("BITRISE_PULL_REQUEST",),
            "tag": ("BITRISE_GIT_TAG",),
        },
    ),
    Vendor(
        "cirrus",
        _has("CIRRUS_CI"),
        {
            "pipeline": ("CIRRUS_REPO_FULL_NAME",),
            "job": ("{CIRRUS_REPO_FULL_NAME}/{CIRRUS_TASK_NAME}", "CIRRUS_REPO_FULL_NAME"),
            "build_number": ("CIRRUS_BUILD_ID",),
            "build_id": ("CIRRUS_TASK_ID",),
            "build_url": ("https://cirrus-ci.com/task/{CIRRUS_TASK_ID}",),
            "commit": ("CIRRUS_CHANGE_IN_REPO",),
            "branch": ("CIRRUS_BRANCH",),
            "target_branch": ("CIRRUS_BASE_BRANCH",),
            "pr": ("CIRRUS_PR",),
            "user": ("CIRRUS_USER_USERNAME",),
            "tag": ("CIRRUS_TAG",),
            "before": ("CIRRUS_LAST_GREEN_CHANGE",),
        },
    ),
)
