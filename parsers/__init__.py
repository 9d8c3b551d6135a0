"""The built-in parsers of sei-watch. The core finds them through the `sei_watch.parsers.v1`
entry points, exactly as it finds third-party ones; nothing in `sei_watch` imports this package
by name.

`SEI_WATCH_CLAIMS` says, for each entry point, what its parser could claim: its name, basename
patterns (`*` a wildcard, any case) covering every name its `matches` accepts, and its
`sniff_suffixes`. The core reads it instead of importing 40 parsers and their regexes, and
imports a parser only when a file fits. `tests/test_lazy_parsers.py` holds each entry to its
class.
"""

from __future__ import annotations

_LOG = (".log", ".txt", "")

SEI_WATCH_CLAIMS: dict[str, tuple[str, tuple[str, ...], tuple[str, ...]]] = {
    "sei_watch_parsers.sei_manifest:SeiManifestParser": (
        "sei-manifest",
        ("artifact-manifest.json", "sei-artifacts.json"),
        (),
    ),
    "sei_watch_parsers.steps:StepsFile": ("sei-steps", (".sei-watch-steps.jsonl",), ()),
    "sei_watch_parsers.junit:JUnitParser": ("junit", ("*.xml",), (".xml",)),
    "sei_watch_parsers.test_native:CTestParser": ("ctest", ("test.xml",), (".xml",)),
    "sei_watch_parsers.test_native:RobotParser": ("robot", (), (".xml",)),
    "sei_watch_parsers.test_dotnet:TrxParser": ("trx", (), (".trx", ".xml")),
    "sei_watch_parsers.test_dotnet:NUnitParser": ("nunit", (), (".xml",)),
    "sei_watch_parsers.test_dotnet:XUnitNetParser": ("xunit-net", (), (".xml",)),
    "sei_watch_parsers.test_json:GoTestJson": (
        "go-test-json",
        (),
        (".json", ".jsonl", ".txt", ".out", ".log"),
    ),
    "sei_watch_parsers.test_json:JestJson": ("jest-json", (), (".json",)),
    "sei_watch_parsers.test_json:MochaJson": ("mocha-json", (), (".json",)),
    "sei_watch_parsers.test_json:RspecJson": ("rspec-json", (), (".json",)),
    "sei_watch_parsers.test_cxx:QTestLib": ("qtestlib", (), (".xml", ".txt")),
    "sei_watch_parsers.test_cxx:BoostTestReport": ("boost-test", (), (".xml",)),
    "sei_watch_parsers.logs.gitlab:GitLabLog": ("log-gitlab", (), _LOG),
    "sei_watch_parsers.logs.actions:GitHubLog": ("log-github", (), _LOG),
    "sei_watch_parsers.logs.actions:AzureLog": ("log-azure", (), _LOG),
    "sei_watch_parsers.logs.jenkins:JenkinsLog": ("log-jenkins", (), _LOG),
    "sei_watch_parsers.logs.teamcity:TeamCityLog": ("log-teamcity", (), _LOG),
    "sei_watch_parsers.logs.buildkite:BuildkiteLog": ("log-buildkite", (), _LOG),
    "sei_watch_parsers.logs.buildtools:MavenLog": ("log-maven", (), _LOG),
    "sei_watch_parsers.logs.buildtools:GradleLog": ("log-gradle", (), _LOG),
    "sei_watch_parsers.logs.buildtools:GradleProfile": ("gradle-profile", ("*.html",), ()),
    "sei_watch_parsers.logs.ninja:NinjaLog": ("log-ninja", (".ninja_log",), ()),
    "sei_watch_parsers.logs.generic:GenericLog": ("log-generic", (), ()),
    "sei_watch_parsers.manifests.images:BuildxMetadata": (
        "buildx-metadata",
        ("buildx-metadata.json", "metadata.json"),
        (".json",),
    ),
    "sei_watch_parsers.manifests.images:OciLayout": ("oci-layout", ("index.json",), ()),
    "sei_watch_parsers.manifests.images:DockerSave": ("docker-save", ("manifest.json",), ()),
    "sei_watch_parsers.manifests.images:JibImage": ("jib-image", ("jib-image.json",), ()),
    "sei_watch_parsers.manifests.images:DigestFiles": (
        "image-digests",
        ("image-digest", "image-name-with-digest", "image-refs", "digest.txt", "*.imageref"),
        (),
    ),
    "sei_watch_parsers.manifests.packages:Goreleaser": ("goreleaser", ("artifacts.json",), ()),
    "sei_watch_parsers.manifests.packages:NpmPack": ("npm-pack", ("npm-pack.json", "*.tgz"), ()),
    "sei_watch_parsers.manifests.packages:PythonDist": (
        "python-dist",
        ("*.whl", "*.tar.gz", "*.zip"),
        (),
    ),
    "sei_watch_parsers.manifests.packages:MavenJar": ("maven-jar", ("*.jar", "*.war", "*.ear"), ()),
    "sei_watch_parsers.manifests.provenance:CycloneDx": (
        "cyclonedx",
        ("bom.json", "sbom.json", "*.cdx.json", "*.bom.json"),
        (".json",),
    ),
    "sei_watch_parsers.manifests.provenance:Spdx": (
        "spdx",
        ("*.spdx.json", "*.spdx3.json"),
        (".json",),
    ),
    "sei_watch_parsers.manifests.provenance:InToto": (
        "in-toto",
        ("*.intoto.jsonl", "*.intoto.json"),
        (".json", ".jsonl"),
    ),
    "sei_watch_parsers.manifests.provenance:BuildInfo": (
        "jfrog-build-info",
        ("build-info.json",),
        (),
    ),
    "sei_watch_parsers.manifests.deploy:K8sImages": (
        "k8s-images",
        ("*.yaml", "*.yml", "*.json"),
        (),
    ),
    "sei_watch_parsers.jenkins_build:JenkinsBuild": ("jenkins-build", ("build.xml",), ()),
    "sei_watch_parsers.jenkins_build:JenkinsChangelog": (
        "jenkins-changelog",
        ("changelog*.xml",),
        (),
    ),
}
