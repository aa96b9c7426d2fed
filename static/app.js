console.log("chat");
