module hobby-platform/tools

go 1.26.6

// The pulumi modules' go.mod files carry replace directives that Go ignores in
// a dependency; these mirror the ones the release build relies on.
replace github.com/atotto/clipboard => github.com/tgummerer/clipboard v0.0.0-20241001131231-d02d263e614e

replace golang.org/x/text => golang.org/x/text v0.41.0

require (
	github.com/pulumi/pulumi/pkg/v3 v3.274.1
	github.com/pulumi/pulumi/sdk/v3 v3.274.1
)
