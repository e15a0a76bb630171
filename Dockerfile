# syntax=docker/dockerfile:1
#
# CRM ПРОФИ in a container: one static binary on a small Alpine base.
#   docker build --build-arg VERSION=$(git describe --always --dirty) -t crmprofi/crm .
# See docker-compose.yml for PostgreSQL beside it.

# --- build ---------------------------------------------------------------
FROM golang:1.26 AS build
WORKDIR /src
# The image pins GOTOOLCHAIN=local; go.mod asks for go 1.26.8, which an
# older 1.26 image fetches instead of refusing to build.
ENV GOTOOLCHAIN=auto

# Modules first, so editing code does not re-download them.
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod \
    go mod download

# The generated *_templ.go files are committed (and checked current by
# .ci/run), so no templ step is needed here.
COPY . .
ARG VERSION=dev
RUN --mount=type=cache,target=/go/pkg/mod \
    --mount=type=cache,target=/root/.cache/go-build \
    CGO_ENABLED=0 go build -trimpath -buildvcs=false \
        -ldflags "-s -w -X main.version=${VERSION}" \
        -o /out/crm ./cmd/crm

# --- run -----------------------------------------------------------------
# Alpine rather than distroless: its busybox wget serves the HEALTHCHECK.
FROM alpine:3.22
RUN apk add --no-cache ca-certificates tzdata \
 && addgroup -S -g 10001 crm \
 && adduser -S -D -H -u 10001 -G crm -h /data crm \
 && mkdir -p /data \
 && chown crm:crm /data
# crm backup on PostgreSQL runs pg_dump/pg_restore: version 17 reads and
# writes servers up to 17 (compose runs 16). /backups is the backup
# service's volume, owned by crm so that a new volume is writable.
RUN apk add --no-cache postgresql17-client \
 && mkdir -p /backups \
 && chown crm:crm /backups

COPY --from=build /out/crm /usr/local/bin/crm

# /data holds the SQLite file and, outside production mode, the generated
# secret key. With PostgreSQL (docker-compose.yml) it stays nearly empty.
VOLUME ["/data"]
WORKDIR /data
ENV CRM_ADDR=0.0.0.0:8000 \
    CRM_DATABASE_URL=sqlite:/data/crm.db
USER crm:crm
EXPOSE 8000

# /readyz: the database answers, the schema is current, the job queue runs
# (/healthz only says the process is up).
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD wget -q -O /dev/null http://127.0.0.1:8000/readyz || exit 1

ENTRYPOINT ["/usr/local/bin/crm"]
CMD ["serve"]
