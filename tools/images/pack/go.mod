// Images for `scripts/local-cluster.sh start --with-nodes`, made here because nothing can be
// pulled: `pack-image` puts a static binary into a one-layer OCI image (go-containerregistry,
// the library crane and ko are built on) and writes it for `ctr images import` or pushes it
// to the local registry; `pause` and `example-microservice` are the two programs with no
// upstream Go module to build them from.
module hobby-platform/tools/images/pack

go 1.26.0

require github.com/google/go-containerregistry v0.21.8

require (
	github.com/docker/cli v29.6.2+incompatible // indirect
	github.com/docker/docker-credential-helpers v0.9.3 // indirect
	github.com/klauspost/compress v1.19.1 // indirect
	github.com/opencontainers/go-digest v1.0.0 // indirect
	github.com/opencontainers/image-spec v1.1.1 // indirect
	github.com/sirupsen/logrus v1.9.4 // indirect
	golang.org/x/sync v0.22.0 // indirect
	golang.org/x/sys v0.47.0 // indirect
	gotest.tools/v3 v3.5.2 // indirect
)
