package main

import (
	"fmt"
	"strings"

	"github.com/computescale/computescale/internal/etcdembed"
)

// childEtcdFlag makes the benchmark binary a one-member embedded etcd over
// the folder given, for P3's baseline: it prints the client address and
// answers "mem" and "cpu" as a child server does (its watch count is not
// known and reported as 0).
const childEtcdFlag = "-child-etcd"

func runEtcdChild(dir string) error {
	stop, err := childProfile(dir)
	if err != nil {
		return err
	}
	defer stop()
	c, err := etcdembed.Start(etcdembed.Options{Members: 1, Dir: dir})
	if err != nil {
		return fmt.Errorf("start etcd: %w", err)
	}
	defer c.Close()
	fmt.Println(strings.TrimPrefix(c.Endpoint(0), "http://"))
	return childCommands(func() int { return 0 })
}

func startEtcdChild(dir string) (*child, error) { return startChildAs(childEtcdFlag, dir) }
