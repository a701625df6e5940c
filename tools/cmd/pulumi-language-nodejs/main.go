// Command pulumi-language-nodejs is a Node.js language host for the pulumi CLI.
//
// The upstream host (github.com/pulumi/pulumi/sdk/nodejs/cmd/pulumi-language-nodejs/v3)
// is an untagged nested module that the Go module proxy reachable here does not
// serve at any version, so this host implements the part of the LanguageRuntime
// protocol that `pulumi preview` and `pulumi up` use: it reports the resource
// plugins that the installed npm SDKs declare, and runs the program through the
// installed @pulumi/pulumi SDK's own `cmd/run` entry point, as the upstream host does.
// Everything else (install, codegen, about) answers Unimplemented.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"

	"google.golang.org/grpc"
	pbempty "google.golang.org/protobuf/types/known/emptypb"

	"github.com/pulumi/pulumi/sdk/v3/go/common/util/rpcutil"
	pulumirpc "github.com/pulumi/pulumi/sdk/v3/proto/go"
)

// version is set at build time (-ldflags -X main.version=...).
var version = "0.0.0-dev"

// exitCodeUserError is the exit code the SDK's run script uses after it has already
// reported a user-actionable error; the engine is then told to bail without a second message.
const exitCodeUserError = 32

type host struct {
	pulumirpc.UnimplementedLanguageRuntimeServer
	engineAddress string
}

func main() {
	flag.Parse()
	// The CLI passes the engine address as the last positional argument.
	h := &host{}
	if flag.NArg() > 0 {
		h.engineAddress = flag.Arg(flag.NArg() - 1)
	}
	handle, err := rpcutil.ServeWithOptions(rpcutil.ServeOptions{
		Init: func(srv *grpc.Server) error {
			pulumirpc.RegisterLanguageRuntimeServer(srv, h)
			return nil
		},
	})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
	// The CLI reads the port from the first line on stdout.
	fmt.Printf("%d\n", handle.Port)
	if err := <-handle.Done; err != nil {
		fmt.Fprintf(os.Stderr, "pulumi-language-nodejs: %v\n", err)
		os.Exit(1)
	}
}

func (h *host) Handshake(_ context.Context, req *pulumirpc.LanguageHandshakeRequest) (*pulumirpc.LanguageHandshakeResponse, error) {
	h.engineAddress = req.GetEngineAddress()
	return &pulumirpc.LanguageHandshakeResponse{}, nil
}

func (h *host) GetPluginInfo(context.Context, *pbempty.Empty) (*pulumirpc.PluginInfo, error) {
	return &pulumirpc.PluginInfo{Version: version}, nil
}

func (h *host) GetRequiredPackages(_ context.Context, req *pulumirpc.GetRequiredPackagesRequest) (*pulumirpc.GetRequiredPackagesResponse, error) {
	deps, err := pluginDependencies(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPackagesResponse{}
	for _, d := range deps {
		resp.Packages = append(resp.Packages, &pulumirpc.PackageDependency{
			Name: d.Name, Kind: "resource", Version: d.Version, Server: d.Server,
		})
	}
	return resp, nil
}

func (h *host) GetRequiredPlugins(_ context.Context, req *pulumirpc.GetRequiredPluginsRequest) (*pulumirpc.GetRequiredPluginsResponse, error) {
	deps, err := pluginDependencies(req.GetInfo().GetProgramDirectory())
	if err != nil {
		return nil, err
	}
	resp := &pulumirpc.GetRequiredPluginsResponse{}
	for _, d := range deps {
		resp.Plugins = append(resp.Plugins, &pulumirpc.PluginDependency{
			Name: d.Name, Kind: "resource", Version: d.Version, Server: d.Server,
		})
	}
	return resp, nil
}

// pulumiPackage is the "pulumi" block that generated npm SDKs carry in package.json.
type pulumiPackage struct {
	Resource bool   `json:"resource"`
	Name     string `json:"name"`
	Version  string `json:"version"`
	Server   string `json:"server"`
}

type packageJSON struct {
	Name         string            `json:"name"`
	Version      string            `json:"version"`
	Dependencies map[string]string `json:"dependencies"`
	Pulumi       *pulumiPackage    `json:"pulumi"`
}

func readPackageJSON(dir string) (*packageJSON, error) {
	b, err := os.ReadFile(filepath.Join(dir, "package.json"))
	if err != nil {
		return nil, err
	}
	var p packageJSON
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, "package.json"), err)
	}
	return &p, nil
}

// resolvePackage finds a dependency the way Node does: node_modules of dir, then of each parent.
func resolvePackage(dir, name string) (string, bool) {
	for {
		candidate := filepath.Join(dir, "node_modules", name)
		if _, err := os.Stat(filepath.Join(candidate, "package.json")); err == nil {
			return candidate, true
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", false
		}
		dir = parent
	}
}

// pluginDependencies walks the program's production dependency graph and returns the
// resource plugins that the packages in it declare, sorted by name.
func pluginDependencies(programDir string) ([]pulumiPackage, error) {
	// The program's package.json is the nearest one at or above its directory.
	for {
		if _, err := os.Stat(filepath.Join(programDir, "package.json")); err == nil {
			break
		}
		parent := filepath.Dir(programDir)
		if parent == programDir {
			return nil, errors.New("no package.json found at or above the program directory")
		}
		programDir = parent
	}
	root, err := readPackageJSON(programDir)
	if err != nil {
		return nil, err
	}
	seen := map[string]bool{}
	found := map[string]pulumiPackage{}
	var visit func(fromDir string, deps map[string]string) error
	visit = func(fromDir string, deps map[string]string) error {
		for name := range deps {
			dir, ok := resolvePackage(fromDir, name)
			if !ok || seen[dir] {
				continue // optional dependencies may be absent
			}
			seen[dir] = true
			pkg, err := readPackageJSON(dir)
			if err != nil {
				return err
			}
			if p := pkg.Pulumi; p != nil && p.Resource {
				if p.Name == "" {
					p.Name = filepath.Base(name)
				}
				if p.Version == "" {
					p.Version = pkg.Version
				}
				found[p.Name+"@"+p.Version] = *p
			}
			if err := visit(dir, pkg.Dependencies); err != nil {
				return err
			}
		}
		return nil
	}
	if err := visit(programDir, root.Dependencies); err != nil {
		return nil, err
	}
	keys := make([]string, 0, len(found))
	for k := range found {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := make([]pulumiPackage, 0, len(keys))
	for _, k := range keys {
		out = append(out, found[k])
	}
	return out, nil
}

func (h *host) Run(ctx context.Context, req *pulumirpc.RunRequest) (*pulumirpc.RunResponse, error) {
	info := req.GetInfo()
	programDir := info.GetProgramDirectory()
	if programDir == "" {
		programDir = req.GetPwd()
	}
	sdk, ok := resolvePackage(programDir, "@pulumi/pulumi")
	if !ok {
		return &pulumirpc.RunResponse{Error: "@pulumi/pulumi is not installed in " + programDir + " (run npm install)"}, nil
	}

	opts := info.GetOptions().AsMap()
	typescript := true
	if v, ok := opts["typescript"].(bool); ok {
		typescript = v
	}

	args := []string{}
	if nodeargs, ok := opts["nodeargs"].(string); ok && nodeargs != "" {
		args = append(args, strings.Fields(nodeargs)...)
	}
	args = append(args, filepath.Join(sdk, "cmd", "run"),
		"--monitor="+req.GetMonitorAddress(),
		"--engine="+h.engineAddress,
		"--organization="+req.GetOrganization(),
		"--project="+req.GetProject(),
		"--stack="+req.GetStack(),
		"--root-directory="+info.GetRootDirectory(),
		"--pwd="+req.GetPwd(),
		"--parallel="+strconv.Itoa(int(req.GetParallel())),
	)
	if req.GetDryRun() {
		args = append(args, "--dry-run")
	}
	entry := info.GetEntryPoint()
	if entry == "" {
		entry = "."
	}
	args = append(args, entry)
	args = append(args, req.GetArgs()...)

	config, err := json.Marshal(req.GetConfig())
	if err != nil {
		return nil, err
	}
	secretKeys, err := json.Marshal(req.GetConfigSecretKeys())
	if err != nil {
		return nil, err
	}
	cmd := exec.CommandContext(ctx, "node", args...)
	cmd.Dir = req.GetPwd()
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(),
		"PULUMI_CONFIG="+string(config),
		"PULUMI_CONFIG_SECRET_KEYS="+string(secretKeys),
		"PULUMI_NODEJS_TYPESCRIPT="+strconv.FormatBool(typescript),
	)
	if tsconfig, ok := opts["tsconfig"].(string); ok && tsconfig != "" {
		cmd.Env = append(cmd.Env, "PULUMI_NODEJS_TSCONFIG_PATH="+tsconfig)
	}

	err = cmd.Run()
	var exitErr *exec.ExitError
	switch {
	case err == nil:
		return &pulumirpc.RunResponse{}, nil
	case errors.As(err, &exitErr) && exitErr.ExitCode() == exitCodeUserError:
		return &pulumirpc.RunResponse{Bail: true}, nil
	case errors.As(err, &exitErr):
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("Program exited with non-zero exit code: %d", exitErr.ExitCode())}, nil
	default:
		return &pulumirpc.RunResponse{Error: fmt.Sprintf("could not start node: %v", err)}, nil
	}
}
