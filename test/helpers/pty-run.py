"""Runs a command in a real pseudo-terminal (what `warden init` needs to ask its questions),
typing each answer after a pause, and prints everything the terminal showed.
Usage: pty-run.py ANSWERS_JSON -- COMMAND ARGS...   (Node has no pty module of its own.)"""
import fcntl, json, os, pty, select, struct, sys, termios, time

answers = json.loads(sys.argv[1])
cmd = sys.argv[sys.argv.index('--') + 1:]
pid, fd = pty.fork()
if pid == 0:
    os.execvp(cmd[0], cmd)
fcntl.ioctl(fd, termios.TIOCSWINSZ, struct.pack('HHHH', 40, 120, 0, 0))
out = b''

def read_for(seconds):
    global out
    end = time.time() + seconds
    while time.time() < end:
        ready, _, _ = select.select([fd], [], [], 0.05)
        if ready:
            try:
                out += os.read(fd, 65536)
            except OSError:
                return

read_for(2.0)
for a in answers:
    os.write(fd, a.encode())
    read_for(0.8)
read_for(5.0)
_, status = os.waitpid(pid, 0)
sys.stdout.write(out.decode('utf8', 'replace'))
sys.exit(os.waitstatus_to_exitcode(status))
