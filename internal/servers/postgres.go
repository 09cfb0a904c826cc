package servers

import (
	"context"
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"sort"
	"strconv"
	"syscall"
	"time"
)

// PostgresServer is a running PostgreSQL with trust auth on 127.0.0.1.
type PostgresServer struct {
	DSN      string // "postgres://dbg@127.0.0.1:P/dbg?sslmode=disable"
	Host     string // "127.0.0.1"
	Port     int
	User     string // "dbg", a superuser
	Database string // "dbg"
	BinDir   string // where initdb, postgres, psql were found
}

// PostgresBinDir finds the directory holding initdb and postgres: the newest
// /usr/lib/postgresql/<major>/bin (Debian), else the directory of initdb on
// PATH.
func PostgresBinDir() (string, error) {
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return pgMajor(dirs[i]) > pgMajor(dirs[j]) })
	for _, d := range dirs {
		if _, err := os.Stat(filepath.Join(d, "initdb")); err == nil {
			return d, nil
		}
	}
	p, err := lookBin("initdb")
	if err != nil {
		return "", fmt.Errorf("PostgreSQL server not found (no /usr/lib/postgresql/*/bin/initdb, no initdb on PATH): install the Debian package postgresql (scripts/test.sh does)")
	}
	return filepath.Dir(p), nil
}

func pgMajor(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}

// pgUser is who runs initdb and postgres: initdb refuses root, so as root
// the "postgres" user (made by the Debian package), else "nobody".
func pgUser() (*runAs, error) {
	if !isRoot() {
		return nil, nil
	}
	for _, name := range []string{"postgres", "nobody"} {
		u, err := user.Lookup(name)
		if err != nil {
			continue
		}
		uid, err1 := strconv.ParseUint(u.Uid, 10, 32)
		gid, err2 := strconv.ParseUint(u.Gid, 10, 32)
		if err1 == nil && err2 == nil {
			return &runAs{uid: uint32(uid), gid: uint32(gid), name: name}, nil
		}
	}
	return nil, fmt.Errorf("running as root and neither user postgres nor nobody exists: initdb refuses to run as root")
}

// StartPostgres runs initdb into dir/data and starts PostgreSQL (Debian package postgresql) on a
// free loopback port, with no Unix socket, fsync off, and a superuser "dbg" owning database "dbg"
// (trust auth). dir must be one the server's user can enter: as root that is the "postgres" user
// (initdb refuses root), so not a directory under a 0700 root-owned parent.
func StartPostgres(ctx context.Context, dir string) (*PostgresServer, *Process, error) {
	binDir, err := PostgresBinDir()
	if err != nil {
		return nil, nil, err
	}
	as, err := pgUser()
	if err != nil {
		return nil, nil, err
	}
	data := filepath.Join(dir, "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		return nil, nil, err
	}
	if as != nil {
		for _, p := range []string{dir, data} {
			if err := os.Chown(p, int(as.uid), int(as.gid)); err != nil {
				return nil, nil, fmt.Errorf("chown %s to %s: %w", p, as.name, err)
			}
		}
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Minute)
	defer cancel()
	env := []string{"LC_ALL=C", "LANG=C", "TZ=UTC"}
	out, err := run(ctx, dir, as, env, filepath.Join(binDir, "initdb"),
		"-D", data, "-U", "dbg", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync")
	if err != nil {
		return nil, nil, fmt.Errorf("initdb: %v\n%s", err, out)
	}
	s := &PostgresServer{Host: "127.0.0.1", User: "dbg", Database: "dbg", BinDir: binDir}
	p, err := launch("postgres", func() (*Process, error) {
		ports, err := FreeLoopbackPorts(1)
		if err != nil {
			return nil, err
		}
		s.Port = ports[0]
		p, err := startProcess("postgres", dir, as, env, filepath.Join(binDir, "postgres"),
			"-D", data,
			"-c", "listen_addresses=127.0.0.1",
			"-c", "port="+strconv.Itoa(s.Port),
			"-c", "unix_socket_directories=",
			"-c", "fsync=off",
			"-c", "synchronous_commit=off",
			"-c", "full_page_writes=off",
			"-c", "max_connections=50",
		)
		if p != nil {
			p.stopBy = syscall.SIGINT // fast shutdown; SIGTERM waits for clients
		}
		return p, err
	}, func(p *Process) error {
		if err := waitTCP(fmt.Sprintf("127.0.0.1:%d", s.Port), StartTimeout, p.exited); err != nil {
			return err
		}
		// The port opens before the server takes queries; createdb retries
		// through "the database system is starting up".
		deadline := time.Now().Add(StartTimeout)
		for {
			out, err := run(ctx, dir, as, env, filepath.Join(binDir, "createdb"),
				"-h", "127.0.0.1", "-p", strconv.Itoa(s.Port), "-U", "dbg", "dbg")
			if err == nil {
				return nil
			}
			if perr := pause(deadline, p.exited); perr != nil {
				return fmt.Errorf("createdb: %v: %s: %w", err, out, perr)
			}
		}
	})
	if err != nil {
		return nil, nil, err
	}
	s.DSN = fmt.Sprintf("postgres://dbg@127.0.0.1:%d/dbg?sslmode=disable", s.Port)
	return s, p, nil
}
