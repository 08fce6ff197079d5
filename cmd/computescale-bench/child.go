package main

import (
	"bufio"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/computescale/computescale/server"
)

// childFlag makes the benchmark binary a bare server for measurements that
// must not count the client's side: it serves dbPath on 127.0.0.1, prints
// its address, and answers each "mem" line on stdin with its heap and stack
// in use after a GC and its live watch count.
const childFlag = "-child-server"

func runChild(dbPath string) error {
	r, err := newRig(dbPath, 0, server.Config{ProgressInterval: time.Hour})
	if err != nil {
		return err
	}
	defer r.close()
	fmt.Println(r.addr)
	in := bufio.NewScanner(os.Stdin)
	for in.Scan() {
		if in.Text() == "mem" {
			fmt.Println(inUse(), r.srv.Subscribers())
		}
	}
	return in.Err()
}

// child is a running child server.
type child struct {
	cmd  *exec.Cmd
	in   *bufio.Writer
	out  *bufio.Scanner
	addr string
}

func startChild(dbPath string) (*child, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(self, childFlag, dbPath)
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
	c := &child{cmd: cmd, in: bufio.NewWriter(stdin), out: bufio.NewScanner(stdout)}
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

func (c *child) stop() {
	c.cmd.Process.Kill()
	c.cmd.Wait()
}

// idleMemoryServerOnly is idleMemory with the server in a child process, so
// that only the server's side of each watch is counted.
func idleMemoryServerOnly(ctx context.Context, c config, n int) (float64, error) {
	ch, err := startChild(dbPath(c.dir, "idle-child"))
	if err != nil {
		return 0, err
	}
	defer ch.stop()
	r := &rig{addr: ch.addr}
	conns, closeConns, err := r.watchConns(n)
	if err != nil {
		return 0, err
	}
	defer closeConns()
	for _, cc := range conns {
		cc.Connect()
	}
	time.Sleep(300 * time.Millisecond) // connections up before the first reading
	before, _, err := ch.mem()
	if err != nil {
		return 0, err
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	if err := openIdleWatches(ctx, conns, n); err != nil {
		return 0, err
	}
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		if _, live, err := ch.mem(); err != nil || live >= n {
			break
		}
	}
	after, _, err := ch.mem()
	if err != nil {
		return 0, err
	}
	return float64(after-before) / float64(n), nil
}
