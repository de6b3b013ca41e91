#!/usr/bin/env python3
"""Print the local path of a jar from Maven Central (GROUP:ARTIFACT:VERSION), fetching it
with `mvn dependency:get` into the local repository (~/.m2) when it is not there yet.
Exit status 1 with a message on stderr when it cannot be had (no mvn, no network)."""
import os
import shutil
import subprocess
import sys


def local_repository():
    repo = os.environ.get("MAVEN_REPO_LOCAL")
    return repo or os.path.join(os.path.expanduser("~"), ".m2", "repository")


def main():
    if len(sys.argv) != 2 or sys.argv[1].count(":") != 2:
        sys.exit("usage: maven_jar.py GROUP:ARTIFACT:VERSION")
    group, artifact, version = sys.argv[1].split(":")
    repo = local_repository()
    path = os.path.join(repo, *group.split("."), artifact, version, f"{artifact}-{version}.jar")
    if not os.path.isfile(path):
        mvn = shutil.which("mvn")
        if not mvn:
            sys.exit(f"{sys.argv[1]} is not in {repo} and mvn is not installed")
        r = subprocess.run([mvn, "-q", "-B", f"-Dmaven.repo.local={repo}", "dependency:get",
                            f"-Dartifact={sys.argv[1]}", "-Dtransitive=false"],
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        if r.returncode != 0 or not os.path.isfile(path):
            sys.exit(f"mvn could not fetch {sys.argv[1]}:\n{r.stdout[-2000:]}")
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
