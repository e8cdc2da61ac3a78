/*
 * sys_win.h — what the Windows host layer adds to sys.h for the win engine (host room;
 * internal).
 */
#ifndef AP_WIN_SYS_H
#define AP_WIN_SYS_H
#ifdef _WIN32

int ap_win_errno(int wsa_error); /* Winsock error -> Linux errno */
void ap_win_startup(void);       /* WSAStartup, once */
int ap_win_is_socket(int fd);    /* 1 if fd is an open SOCKET */
int ap_win_nonblocking(int fd);  /* 1 if anypoll made the SOCKET non-blocking */

#endif
#endif
