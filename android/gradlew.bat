@rem Runs the Gradle version pinned in gradle\wrapper\gradle-wrapper.properties.
@rem The wrapper jar is not committed; make it once with: gradle wrapper --gradle-version 8.9
@echo off
set DIR=%~dp0
if not exist "%DIR%gradle\wrapper\gradle-wrapper.jar" (
  echo gradle\wrapper\gradle-wrapper.jar is missing: run "gradle wrapper --gradle-version 8.9" in %DIR% once 1>&2
  exit /b 1
)
set JAVA_EXE=java
if defined JAVA_HOME set JAVA_EXE=%JAVA_HOME%\bin\java
"%JAVA_EXE%" %JAVA_OPTS% %GRADLE_OPTS% "-Dorg.gradle.appname=gradlew" -classpath "%DIR%gradle\wrapper\gradle-wrapper.jar" org.gradle.wrapper.GradleWrapperMain %*
