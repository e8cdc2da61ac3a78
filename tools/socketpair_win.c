/*
 * socketpair_win.c — socketpair() for the `anypoll` command on Windows (tools room): a
 * connected TCP pair over 127.0.0.1, the stand-in wepoll and libuv use too. Windows only.
 */
#ifdef _WIN32
#include "anypoll.h"
#include "tool.h"

#include <errno.h>

int ap_tool_socketpair(int domain, int type, int protocol, int sv[2])
{
    (void)domain, (void)protocol;
    WSADATA d;
    WSAStartup(MAKEWORD(2, 2), &d);
    if ((type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC)) != SOCK_STREAM) return errno = EOPNOTSUPP, -1;
    SOCKET l = socket(AF_INET, SOCK_STREAM, 0), c = INVALID_SOCKET, s = INVALID_SOCKET;
    struct sockaddr_in a = {0};
    int len = sizeof a;
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (l == INVALID_SOCKET || bind(l, (struct sockaddr *)&a, sizeof a) || listen(l, 1) ||
        getsockname(l, (struct sockaddr *)&a, &len))
        goto fail;
    c = socket(AF_INET, SOCK_STREAM, 0);
    if (c == INVALID_SOCKET || connect(c, (struct sockaddr *)&a, sizeof a)) goto fail;
    s = accept(l, NULL, NULL);
    if (s == INVALID_SOCKET) goto fail;
    closesocket(l);
    sv[0] = (int)s;
    sv[1] = (int)c;
    if (type & SOCK_NONBLOCK) {
        anypoll_fcntl(sv[0], F_SETFL, O_NONBLOCK);
        anypoll_fcntl(sv[1], F_SETFL, O_NONBLOCK);
    }
    return 0;
fail:
    if (l != INVALID_SOCKET) closesocket(l);
    if (c != INVALID_SOCKET) closesocket(c);
    errno = EIO;
    return -1;
}
#endif
