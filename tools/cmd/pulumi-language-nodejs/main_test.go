package main

import (
	"os"
	"path/filepath"
	"reflect"
	"testing"
)

// writePackage writes dir/package.json with the given content.
func writePackage(t *testing.T, dir, content string) {
	t.Helper()
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "package.json"), []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}

func TestPluginDependenciesFollowsTheDependencyGraphAsNodeResolvesIt(t *testing.T) {
	root := t.TempDir()
	writePackage(t, root, `{"name": "program", "dependencies": {"@pulumi/kubernetes": "^4", "@ediri/vultr": "^2", "left-pad": "1"}}`)
	nm := filepath.Join(root, "node_modules")
	// A generated SDK names its plugin and version in "pulumi".
	writePackage(t, filepath.Join(nm, "@pulumi", "kubernetes"),
		`{"name": "@pulumi/kubernetes", "version": "4.34.2", "pulumi": {"resource": true, "name": "kubernetes", "version": "4.34.2"},
		  "dependencies": {"@pulumi/pulumi": "^3"}}`)
	// A third-party SDK may carry a download server and a "v" in its version.
	writePackage(t, filepath.Join(nm, "@ediri", "vultr"),
		`{"name": "@ediri/vultr", "version": "2.21.0", "pulumi": {"resource": true, "name": "vultr", "version": "v2.21.0", "server": "github://api.github.com/dirien"},
		  "dependencies": {"@pulumi/tls": "^5"}}`)
	// A transitive SDK installed in the dependent's own node_modules, found from there first.
	writePackage(t, filepath.Join(nm, "@ediri", "vultr", "node_modules", "@pulumi", "tls"),
		`{"name": "@pulumi/tls", "version": "5.6.1", "pulumi": {"resource": true}}`)
	writePackage(t, filepath.Join(nm, "@pulumi", "pulumi"), `{"name": "@pulumi/pulumi", "version": "3.276.0"}`)
	writePackage(t, filepath.Join(nm, "left-pad"), `{"name": "left-pad", "version": "1.0.0"}`)

	// The program may live below its package.json (Pulumi.yaml `main`).
	programDir := filepath.Join(root, "src")
	if err := os.MkdirAll(programDir, 0o755); err != nil {
		t.Fatal(err)
	}
	got, err := pluginDependencies(programDir)
	if err != nil {
		t.Fatal(err)
	}
	want := []pulumiPackage{
		{Resource: true, Name: "kubernetes", Version: "4.34.2"},
		// No name or version in "pulumi": the package's last path segment and its own version.
		{Resource: true, Name: "tls", Version: "5.6.1"},
		{Resource: true, Name: "vultr", Version: "v2.21.0", Server: "github://api.github.com/dirien"},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("pluginDependencies = %+v, want %+v", got, want)
	}
}

func TestPluginDependenciesSkipsAnAbsentOptionalDependency(t *testing.T) {
	root := t.TempDir()
	writePackage(t, root, `{"name": "program", "dependencies": {"not-installed": "1"}}`)
	got, err := pluginDependencies(root)
	if err != nil || len(got) != 0 {
		t.Fatalf("pluginDependencies = %+v, %v; want none and no error", got, err)
	}
}

func TestPluginDependenciesNeedsAPackageJSON(t *testing.T) {
	if _, err := pluginDependencies(t.TempDir()); err == nil {
		t.Fatal("want an error for a program without package.json")
	}
}
