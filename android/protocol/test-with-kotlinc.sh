#!/usr/bin/env bash
# Compiles the :protocol module (main and test sources) with Debian's
# kotlinc and runs its JUnit 4 tests against the shared vectors — the same
# tests Gradle runs with `gradle :protocol:test`, without Gradle, the Android
# SDK or any repository but Debian's. Used by .ci/run; runs as well by hand:
#   bash android/protocol/test-with-kotlinc.sh
# Needs: apt-get install kotlin junit4 (and a JDK; kotlin brings one).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
java_dir=/usr/share/java
junit="$java_dir/junit4.jar"
hamcrest="$java_dir/hamcrest-core.jar"
stdlib="$java_dir/kotlin-stdlib.jar"
for f in "$junit" "$hamcrest" "$stdlib"; do
	[[ -f "$f" ]] || { echo "ERROR: $f is missing (apt-get install kotlin junit4)" >&2; exit 1; }
done
command -v kotlinc >/dev/null || { echo "ERROR: kotlinc is missing (apt-get install kotlin)" >&2; exit 1; }

out="$(mktemp -d "${TMPDIR:-/tmp}/crm-protocol.XXXXXX")"
trap 'rm -rf "$out"' EXIT

# kotlinc 1.3 on a newer JDK warns about -Xverify:none on every start; the
# warning is noise, errors still show and still fail the build.
quiet() { grep -v -e 'Options -Xverify:none and -noverify were deprecated' || true; }

echo "kotlinc: $(kotlinc -version 2>&1 | grep -o 'kotlinc-jvm [^ ]*' || true)"
echo "compiling src/main"
kotlinc -Werror "$here/src/main/kotlin" -d "$out/main" 2> >(quiet >&2)
echo "compiling src/test"
kotlinc -cp "$out/main:$junit" "$here/src/test/kotlin" -d "$out/test" 2> >(quiet >&2)
cp -r "$here/src/test/resources/." "$out/test/"

# Every *Test class under src/test, found by file name.
classes=()
while IFS= read -r f; do
	rel="${f#"$here/src/test/kotlin/"}"
	classes+=("$(echo "${rel%.kt}" | tr / .)")
done < <(find "$here/src/test/kotlin" -name '*Test.kt' | sort)
((${#classes[@]} > 0)) || { echo "ERROR: no test classes found" >&2; exit 1; }

log="$out/junit.log"
set +e
java -cp "$out/main:$out/test:$junit:$hamcrest:$stdlib" org.junit.runner.JUnitCore "${classes[@]}" >"$log" 2>&1
rc=$?
set -e
cat "$log"
# A plain closing line as well: "N passed, N failed".
run=$(grep -oE '^(OK \(([0-9]+) tests?\)|Tests run: [0-9]+)' "$log" | grep -oE '[0-9]+' | head -1 || true)
failures=$(grep -oE 'Failures: [0-9]+' "$log" | grep -oE '[0-9]+' | head -1 || true)
failures=${failures:-0}
run=${run:-0}
echo "protocol: $((run - failures)) passed, $failures failed"
if ((rc != 0 || run == 0)); then
	echo "ERROR: protocol unit tests failed (exit $rc)" >&2
	exit 1
fi
