// Command modproxy packs the modules of this repository that other modules of
// it require, at the versions they require, into a file-system module proxy:
//
//	go run . -o /tmp/proxy ../..
//	GOPROXY=file:///tmp/proxy,https://proxy.golang.org GOWORK=off go build ./...
//
// The go command can then download a version that is not published yet, the
// way a consumer will download it once it is. scripts/release-check.sh uses it.
//
// A module is packed from its directory as it is in the working tree. A
// version that a go.sum in the repository already records is published (a
// go.sum learns a version from a real download) and is left to the real proxy:
// packing today's tree under its name would not match its checksum.
//
// For each version packed it writes <module>/@v/<version>.info, .mod and .zip
// and adds the version to <module>/@v/list, the layout of `go help goproxy`.
// The zip is made by golang.org/x/mod/zip, as the go command makes it from a
// tag, so nested modules, VCS directories and vendored packages are left out.
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"golang.org/x/mod/modfile"
	"golang.org/x/mod/module"
	"golang.org/x/mod/zip"
)

func main() {
	out := flag.String("o", "", "the proxy directory to write into (created if missing)")
	flag.Usage = func() {
		fmt.Fprintln(os.Stderr, "usage: modproxy -o PROXYDIR [REPODIR]")
		flag.PrintDefaults()
	}
	flag.Parse()
	repo := "."
	if flag.NArg() == 1 {
		repo = flag.Arg(0)
	}
	if *out == "" || flag.NArg() > 1 {
		flag.Usage()
		os.Exit(2)
	}
	if err := run(*out, repo); err != nil {
		fmt.Fprintln(os.Stderr, "modproxy:", err)
		os.Exit(1)
	}
}

func run(out, repo string) error {
	dirs := map[string]string{} // module path -> directory
	var mods []*modfile.File
	published := map[module.Version]bool{}
	err := filepath.WalkDir(repo, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		switch {
		case d.IsDir() && path != repo && (strings.HasPrefix(name, ".") || name == "testdata"):
			return filepath.SkipDir
		case name == "go.mod":
			data, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			f, err := modfile.ParseLax(path, data, nil)
			if err != nil {
				return err
			}
			dirs[f.Module.Mod.Path] = filepath.Dir(path)
			mods = append(mods, f)
		case name == "go.sum":
			return readSum(path, published)
		}
		return nil
	})
	if err != nil {
		return err
	}

	var want []module.Version
	for _, f := range mods {
		for _, r := range f.Require {
			if _, ours := dirs[r.Mod.Path]; ours && !slices.Contains(want, r.Mod) {
				want = append(want, r.Mod)
			}
		}
	}
	slices.SortFunc(want, func(a, b module.Version) int { return strings.Compare(a.String(), b.String()) })
	for _, m := range want {
		if published[m] {
			fmt.Printf("left to the proxy: %s (a go.sum records it)\n", m)
			continue
		}
		if err := pack(out, dirs[m.Path], m); err != nil {
			return fmt.Errorf("%s: %w", m, err)
		}
		fmt.Printf("packed %s from %s\n", m, dirs[m.Path])
	}
	return nil
}

// readSum adds the module versions a go.sum file records to seen.
func readSum(name string, seen map[module.Version]bool) error {
	f, err := os.Open(name)
	if err != nil {
		return err
	}
	defer f.Close()
	lines := bufio.NewScanner(f)
	for lines.Scan() {
		if fields := strings.Fields(lines.Text()); len(fields) == 3 {
			version := strings.TrimSuffix(fields[1], "/go.mod")
			seen[module.Version{Path: fields[0], Version: version}] = true
		}
	}
	return lines.Err()
}

// pack writes module m, found in dir, into the proxy directory out.
func pack(out, dir string, m module.Version) error {
	if err := module.Check(m.Path, m.Version); err != nil {
		return err
	}
	escPath, err := module.EscapePath(m.Path)
	if err != nil {
		return err
	}
	escVersion, err := module.EscapeVersion(m.Version)
	if err != nil {
		return err
	}
	vdir := filepath.Join(out, filepath.FromSlash(escPath), "@v")
	if err := os.MkdirAll(vdir, 0o755); err != nil {
		return err
	}
	base := filepath.Join(vdir, escVersion)

	info, err := json.Marshal(struct {
		Version string
		Time    time.Time
	}{m.Version, time.Now().UTC().Truncate(time.Second)})
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".info", info, 0o644); err != nil {
		return err
	}
	gomod, err := os.ReadFile(filepath.Join(dir, "go.mod"))
	if err != nil {
		return err
	}
	if err := os.WriteFile(base+".mod", gomod, 0o644); err != nil {
		return err
	}
	z, err := os.Create(base + ".zip")
	if err != nil {
		return err
	}
	if err := zip.CreateFromDir(z, m, dir); err != nil {
		z.Close()
		return err
	}
	if err := z.Close(); err != nil {
		return err
	}
	return addToList(filepath.Join(vdir, "list"), m.Version)
}

// addToList adds version to a module's list file in the proxy, once.
func addToList(name, version string) error {
	data, err := os.ReadFile(name)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	versions := strings.Fields(string(data))
	if !slices.Contains(versions, version) {
		versions = append(versions, version)
	}
	return os.WriteFile(name, []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}
