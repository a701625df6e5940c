// Command pulumi-resource-kubernetes serves the Kubernetes provider of
// github.com/pulumi/pulumi-kubernetes/provider/v4 at the version pinned in go.mod.
//
// The upstream main package embeds schema-embed.json and terraform-mapping-embed.json,
// which `go generate` writes and git ignores, so they are missing from the module zip.
// scripts/toolchain.sh writes them here from the module's committed schema.json and
// terraform-mapping.json (the same transformation as upstream's generate.go) before building.
package main

import (
	_ "embed"

	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/provider"
	"github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version"
)

//go:embed schema-embed.json
var pulumiSchema []byte

//go:embed terraform-mapping-embed.json
var terraformMapping []byte

func main() {
	provider.Serve("kubernetes", version.Version, pulumiSchema, terraformMapping)
}
