package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/computescale/computescale/client"
	"github.com/computescale/computescale/server"
)

// childFlag makes the benchmark binary a bare server for measurements that
// must not count the client's side: it serves dbPath on 127.0.0.1 (with the
// bench's tokens, one vendor among them), prints its address, and answers
// each "mem" line on stdin with its heap and stack in use after a GC and its
// live watch count, and each "cpu" line with the CPU time it has used.
const childFlag = "-child-server"

// childProfileEnv is a path prefix for CPU profiles of child servers, one
// file per child, named after its database (the parent's -cpuprofile then
// holds only the clients' side of those scenarios).
const childProfileEnv = "COMPUTESCALE_BENCH_CHILD_CPUPROFILE"

func runChild(dbPath string) error {
	stop, err := childProfile(dbPath)
	if err != nil {
		return err
	}
	defer stop()
	r, err := newRig(dbPath, 1, server.Config{ProgressInterval: time.Hour})
	if err != nil {
		return err
	}
	defer r.close()
	fmt.Println(r.addr)
	return childCommands(r.srv.Subscribers)
}

// childProfile starts the CPU profile childProfileEnv asks for, if any.
func childProfile(dbPath string) (stop func(), err error) {
	path := os.Getenv(childProfileEnv)
	if path == "" {
		return func() {}, nil
	}
	f, err := os.Create(path + "-" + strings.TrimSuffix(filepath.Base(dbPath), ".db"))
	if err != nil {
		return nil, err
	}
	if err := pprof.StartCPUProfile(f); err != nil {
		f.Close()
		return nil, err
	}
	return func() { pprof.StopCPUProfile(); f.Close() }, nil
}

// childCommands answers "mem" and "cpu" on stdin until it closes.
func childCommands(subscribers func() int) error {
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		switch in.Text() {
		case "mem":
			fmt.Println(inUse(), subscribers())
		case "cpu":
			fmt.Println(int64(processCPU()))
		}
	}
	return in.Err()
}

// child is a running child server.
type child struct {
	cmd   *exec.Cmd
	stdin io.Closer
	in    *bufio.Writer
	out   *bufio.Scanner
	addr  string
}

func startChild(dbPath string) (*child, error) { return startChildAs(childFlag, dbPath) }

// startChildAs runs the benchmark binary as a child of the kind flag
// (childFlag, childEtcdFlag) over path.
func startChildAs(flag, path string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, flag, path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		return nil, err
	}
	c := &child{cmd: cmd, stdin: stdin, in: bufio.NewWriter(stdin), out: bufio.NewScanner(stdout)}
	if !c.out.Scan() {
		c.stop()
		return nil, fmt.Errorf("child server printed no address")
	}
	c.addr = strings.TrimSpace(c.out.Text())
	return c, nil
}

// mem asks the child for its memory in use and live watch count.
func (c *child) mem() (uint64, int, error) {
	c.in.WriteString("mem\n")
	c.in.Flush()
	if !c.out.Scan() {
		return 0, 0, fmt.Errorf("child server gone")
	}
	f := strings.Fields(c.out.Text())
	if len(f) != 2 {
		return 0, 0, fmt.Errorf("child server said %q", c.out.Text())
	}
	m, err1 := strconv.ParseUint(f[0], 10, 64)
	n, err2 := strconv.Atoi(f[1])
	if err1 != nil || err2 != nil {
		return 0, 0, fmt.Errorf("child server said %q", c.out.Text())
	}
	return m, n, nil
}

// cpu asks the child for the CPU time (user and system) it has used.
func (c *child) cpu() (time.Duration, error) {
	c.in.WriteString("cpu\n")
	c.in.Flush()
	if !c.out.Scan() {
		return 0, fmt.Errorf("child server gone")
	}
	n, err := strconv.ParseInt(strings.TrimSpace(c.out.Text()), 10, 64)
	if err != nil {
		return 0, fmt.Errorf("child server said %q", c.out.Text())
	}
	return time.Duration(n), nil
}

func processCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// dialChild connects the bench's admin, reader and vendor to a child
// server, as newRig does for one in this process.
func dialChild(addr string) (*rig, func(), error) {
	var cls []*client.Client
	closeAll := func() {
		for _, cl := range cls {
			cl.Close()
		}
	}
	for _, tok := range []string{benchAdmin, benchReader, vendorToken(0)} {
		cl, err := client.New(addr, client.WithToken(tok), client.WithTimeout(30*time.Second))
		if err != nil {
			closeAll()
			return nil, nil, err
		}
		cls = append(cls, cl)
	}
	return &rig{addr: addr, admin: cls[0], reader: cls[1], vendors: cls[2:]}, closeAll, nil
}

// stop closes the child's stdin, on which it shuts down (and writes its
// profile, if any), and kills it if it has not exited within 10 s.
func (c *child) stop() {
	c.stdin.Close()
	exited := make(chan struct{})
	go func() { c.cmd.Wait(); close(exited) }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		c.cmd.Process.Kill()
		<-exited
	}
}
